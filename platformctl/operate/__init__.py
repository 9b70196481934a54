"""What operators run after day one: state locks, drift, a plan of every environment, the smoke
check of the data path.
"""

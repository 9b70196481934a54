"""The local AWS emulators (moto, LocalStack) behind one interface, and platformctl's own moto
server with its patches and Lambda runtime.
"""

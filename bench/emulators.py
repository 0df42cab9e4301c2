"""What the bench scripts share: free ports, LocalStack's or s3s-fs's S3 beside moto, the CPU time
a process has used, and a user's teams on the pro plan (the free plan's 100 MiB per file is below
a big file)."""
import json, os, pathlib, socket, subprocess, sys, time, urllib.parse, urllib.request

root = pathlib.Path(__file__).resolve().parent.parent


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def api(port, method, path, token=None, form=None, body=None):
    headers = {"authorization": f"Bearer {token}"} if token else {}
    data = None
    if form is not None:
        data = urllib.parse.urlencode(form).encode()
    elif body is not None:
        data, headers["content-type"] = json.dumps(body).encode(), "application/json"
    request = urllib.request.Request(f"http://127.0.0.1:{port}/api/v1{path}", data=data, method=method, headers=headers)
    with urllib.request.urlopen(request) as answer:
        return json.load(answer)


def login(port, email, password):
    """An access token of the user."""
    form = {"grant_type": "password", "username": email, "password": password}
    return api(port, "POST", "/auth/token", form=form)["access_token"]


def pro_plan(port, email, password):
    """The free plan's 100 MiB per file and records per month are below a big file: the platform
    admin moves every team of the user to the pro plan (5 GiB per file)."""
    admin = login(port, "admin@helixnet.local", "helix-admin-local")
    for team in api(port, "GET", "/teams", token=login(port, email, password))["items"]:
        api(port, "PUT", f"/teams/{team['id']}/plan", token=admin, body={"plan": "pro"})


def start_localstack(port, home, pin=()):
    """LocalStack's S3 and SQS on `port`, everything it writes under `home` (as
    scripts/test-localstack.sh starts it); `pin`: a command that pins it (taskset)."""
    for sub in ("home", "tmp", "s3"):
        (home / sub).mkdir(parents=True, exist_ok=True)
    env = dict(os.environ, HOME=str(home / "home"), TMPDIR=str(home / "tmp"), FILESYSTEM_ROOT=str(home / "fs"),
               CONFIG_DIR=str(home / "config"), GATEWAY_LISTEN=f"127.0.0.1:{port}", LOCALSTACK_HOST=f"127.0.0.1:{port}",
               SERVICES="s3,sqs", EAGER_SERVICE_LOADING="1", SQS_ENDPOINT_STRATEGY="path", DNS_ADDRESS="0",
               DISABLE_EVENTS="1", SKIP_SSL_CERT_DOWNLOAD="1")
    code = ("import sys\nimport localstack.services.s3.provider as s3\ns3.DEFAULT_S3_TMP_DIR = sys.argv[1]\n"
            "from localstack.runtime.main import main\nmain()")
    return subprocess.Popen([*pin, root / ".venv-localstack/bin/python", "-c", code, str(home / "s3")], env=env,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


def start_s3s(port, folder, log=subprocess.DEVNULL, pin=()):
    """s3s-fs (`scripts/setup.sh --test`, a Rust S3 server on a folder) on `port`, serving
    `folder`, with the key pair `helix-dev` signs with (test/test). `pin`: a command that pins it
    (taskset). It reads a ranged GET's range only, and does it in Rust, not Python."""
    folder.mkdir(parents=True, exist_ok=True)
    return subprocess.Popen([*pin, root / ".tools/bin/s3s-fs", "--host", "127.0.0.1", "--port", str(port),
                             "--access-key", "test", "--secret-key", "test", str(folder)], stdout=log, stderr=log)


def cpu_seconds(pid):
    """The user and system CPU time a process (all its threads) has used so far; 0 once it is gone."""
    try:
        fields = pathlib.Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def wait_localstack(port):
    for _ in range(1200):
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/_localstack/health") as answer:
                services = json.load(answer)["services"]
            if all(services.get(n) in ("available", "running") for n in ("s3", "sqs")):
                return
        except OSError:
            pass
        time.sleep(0.1)
    sys.exit(f"LocalStack did not start on {port}")


def wait_port(port):
    for _ in range(1200):
        with socket.socket() as s:
            if s.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.1)
    sys.exit(f"nothing listens on {port}")

#!/usr/bin/python3
"""Parity of the kubeconfig loader with the real kubectl.

Every case is one kubeconfig (or a KUBECONFIG list, or an override). It runs
through kubectl.1.NN (`get ns`, fresh HOME and cache dir, stdin /dev/null)
and through the library (tests/parity/parity-client.c: public API, load +
probe) against the same kubesim process, and compares what reached the
server: per request the Authorization scheme + hash, the client certificate
CN, the SNI, TLS or plain, the impersonation headers, whether every path
carries the server URL's prefix, and for exec plugins the
KUBERNETES_EXEC_INFO the plugin received. A client that sent nothing at
all (load error, bad TLS, refused header) is "no request".

Cases with "flags" pass kubectl's connection flags (--token, --as,
--certificate-authority, ...) to kubectl and to the real `fluxstate` CLI
(FLUXSTATE_CLI: command line -> setters -> loader), and also compare the
Impersonate-Uid and Accept-Encoding headers; "CA used" shows as a TLS
handshake that works or fails against the simulator's certificate.

A case either matches for every kubectl minor, or is listed in DIVERGENCES
with the difference that must be seen (so the list cannot go stale); the
reasons are in docs/kubeconfig-parity.md.

Environment: PARITY_CLIENT (built by meson), PARITY_KUBECTL_MINORS
(default "1.33 1.27"), PARITY_REPORT=path writes a Markdown table of results.
"""

import base64
import json
import os
import shutil
import subprocess
import sys
import tempfile
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "kubesim"))
import simhelper  # noqa: E402

KUBECTL_DIR = "/usr/lib/google-cloud-sdk/bin"
MINORS = os.environ.get("PARITY_KUBECTL_MINORS", "1.33 1.27").split()
CLIENT = os.environ.get("PARITY_CLIENT", "")
CLI = os.environ.get("FLUXSTATE_CLI", "")
CASES_DIR = os.environ.get("PARITY_CASES") or os.path.join(HERE, "..", "kubeconfig", "cases")

ADMIN_TOKEN = "parity-admin-token-0123456789"
BOB_PASSWORD = "parity-bob-password"
SIM_CONFIG = {
    "users": [
        {"name": "admin", "token": ADMIN_TOKEN, "groups": ["system:masters"]},
        {"name": "bob", "password": BOB_PASSWORD, "groups": ["system:masters"]},
        {"name": "carol", "clientCert": True, "groups": ["system:masters"]},
    ],
    "serverName": "kubesim.test",
}

STD_TAIL = """contexts:
- name: x
  context: {{cluster: c, user: u}}
- name: other
  context: {{cluster: c, user: other, namespace: team-a}}
current-context: x
"""


def std(user_yaml, cluster_extra="", server="{url}"):
    """A kubeconfig with cluster c (CA data), context x -> user u."""
    return ("apiVersion: v1\nkind: Config\nclusters:\n- name: c\n  cluster:\n"
            "    server: " + server + "\n    certificate-authority-data: {ca}\n"
            + cluster_extra + STD_TAIL + "users:\n" + user_yaml)


# name -> dict(files={rel: text}, path=rel or None, env={}, context=None, prefix=None)
# Text is formatted with the world's values ({url}, {ca}, {token}, ...).
CASES = {
    "token": dict(files={"config": std("- name: u\n  user: {{token: {token}}}\n")}),
    "basic-auth": dict(files={"config": std("- name: u\n  user: {{username: bob, password: {pw}}}\n")}),
    "username-only": dict(files={"config": std("- name: u\n  user: {{username: bob}}\n")}),
    "client-cert-data": dict(files={"config": std(
        "- name: u\n  user: {{client-certificate-data: {carol_crt}, client-key-data: {carol_key}}}\n")}),
    "client-cert-relative-files": dict(files={
        "sub/config": std("- name: u\n  user: {{client-certificate: ../pki/carol.crt, client-key: ../pki/carol.key}}\n"),
        "pki/carol.crt": "{carol_crt_pem}", "pki/carol.key": "{carol_key_pem}"}, path="sub/config"),
    "token-plus-cert": dict(files={"config": std(
        "- name: u\n  user: {{token: {token}, client-certificate-data: {carol_crt}, client-key-data: {carol_key}}}\n")}),
    "token-file-wins": dict(files={
        "config": std("- name: u\n  user: {{token: wrong-token-field, tokenFile: tok}}\n"), "tok": "{token}\n\n"}),
    "token-file-missing-falls-back": dict(files={
        "config": std("- name: u\n  user: {{token: {token}, tokenFile: no-such-file}}\n")}),
    "token-file-alone-missing": dict(files={"config": std("- name: u\n  user: {{tokenFile: no-such-file}}\n")}),
    "token-file-whitespace": dict(files={
        "config": std("- name: u\n  user: {{tokenFile: tok}}\n"), "tok": " \n\t\n"}),
    "token-trailing-newline": dict(files={"config": std("- name: u\n  user:\n    token: |\n      {token}\n")}),
    "token-duplicate-key-last-wins": dict(files={"config": std("- name: u\n  user: {{token: wrong, token: {token}}}\n")}),
    "token-number": dict(files={"config": std("- name: u\n  user: {{token: 12345}}\n")}),
    "token-and-basic": dict(files={"config": std("- name: u\n  user: {{token: {token}, username: bob, password: {pw}}}\n")}),
    "token-file-and-basic": dict(files={
        "config": std("- name: u\n  user: {{tokenFile: tok, username: bob, password: {pw}}}\n"), "tok": "{token}\n"}),
    "no-credentials": dict(files={"config": std("- name: u\n  user: {{}}\n")}),
    "null-user": dict(files={"config": std("- name: u\n  user:\n")}),
    "tls-server-name": dict(files={"config": std("- name: u\n  user: {{token: {token}}}\n",
                                                 "    tls-server-name: kubesim.test\n")}),
    "server-localhost-sni": dict(files={"config": std("- name: u\n  user: {{token: {token}}}\n",
                                                      server="https://localhost:{port}")}),
    "server-override-drops-tls-server-name": dict(
        files={"config": std("- name: u\n  user: {{token: {token}}}\n", "    tls-server-name: wrong.example\n",
                             server="https://wrong.example:1")},
        server="{url}"),
    "path-prefix": dict(files={"config": std("- name: u\n  user: {{token: {token}}}\n",
                                             server="{url}/prefix/?x=1#frag")}, prefix="/prefix/"),
    "plain-http-no-credentials": dict(files={"config": (
        "clusters: [{{name: c, cluster: {{server: \"{plain_url}\"}}}}]\n" + STD_TAIL
        + "users: [{{name: u, user: {{token: {token}}}}}]\n")}, plain=True),
    "no-scheme-is-plain-http": dict(files={"config": (
        "clusters: [{{name: c, cluster: {{server: \"127.0.0.1:{plain_port}\"}}}}]\n" + STD_TAIL
        + "users: [{{name: u, user: {{token: {token}}}}}]\n")}, plain=True),
    "insecure-skip-tls-verify-yes": dict(files={"config": (
        "clusters: [{{name: c, cluster: {{server: \"{url}\", insecure-skip-tls-verify: yes}}}}]\n" + STD_TAIL
        + "users: [{{name: u, user: {{token: {token}}}}}]\n")}),
    "insecure-quoted-true": dict(files={"config": (
        "clusters: [{{name: c, cluster: {{server: \"{url}\", insecure-skip-tls-verify: \"true\"}}}}]\n" + STD_TAIL
        + "users: [{{name: u, user: {{token: {token}}}}}]\n")}),
    "insecure-with-ca": dict(files={"config": std("- name: u\n  user: {{token: {token}}}\n",
                                                  "    insecure-skip-tls-verify: true\n")}),
    "unknown-ca": dict(files={"config": (
        "clusters: [{{name: c, cluster: {{server: \"{url}\", certificate-authority: ca.crt}}}}]\n" + STD_TAIL
        + "users: [{{name: u, user: {{token: {token}}}}}]\n"), "ca.crt": "{other_ca_pem}"}),
    "ca-file-and-data": dict(files={"config": std("- name: u\n  user: {{token: {token}}}\n",
                                                  "    certificate-authority: ca.crt\n"), "ca.crt": "{ca_pem}"}),
    "ca-block-scalar": dict(files={"config": (
        "clusters:\n- name: c\n  cluster:\n    server: {url}\n    certificate-authority-data: |\n{ca_block}"
        + STD_TAIL + "users: [{{name: u, user: {{token: {token}}}}}]\n")}),
    "ca-data-bad-base64": dict(files={"config": std("- name: u\n  user: {{token: {token}}}\n").replace(
        "{ca}", "{ca_urlsafe}")}),
    "impersonation": dict(files={"config": std(
        "- name: u\n  user: {{token: {token}, as: jane, as-groups: [g1, g2], as-uid: '1234'}}\n")}),
    "impersonation-groups-without-user": dict(files={"config": std(
        "- name: u\n  user: {{token: {token}, as-groups: [g1]}}\n")}),
    "context-override": dict(files={"config": std(
        "- name: u\n  user: {{token: wrong}}\n- name: other\n  user: {{token: {token}}}\n")}, context="other"),
    "context-override-missing": dict(files={"config": std("- name: u\n  user: {{token: {token}}}\n")},
                                     context="nope"),
    "current-context-missing": dict(files={"config": std("- name: u\n  user: {{token: {token}}}\n")
                                          .replace("current-context: x", "current-context: nope")}),
    "dangling-user": dict(files={"config": std("- name: someone-else\n  user: {{token: {token}}}\n")}),
    "dangling-cluster": dict(files={"config": std("- name: u\n  user: {{token: {token}}}\n")
                                    .replace("- name: c\n", "- name: not-c\n", 1)}),
    "duplicate-cluster-names": dict(files={"config": std("- name: u\n  user: {{token: {token}}}\n").replace(
        "contexts:", "- name: c\n  cluster: {{server: \"https://127.0.0.1:1\"}}\ncontexts:", 1)}),
    "context-name-y": dict(files={"config": std("- name: u\n  user: {{token: {token}}}\n").replace(
        "- name: other\n", "- name: y\n")}),
    "api-version-v2": dict(files={"config": std("- name: u\n  user: {{token: {token}}}\n").replace(
        "apiVersion: v1", "apiVersion: v2")}),
    "tab-indentation": dict(files={"config": std("- name: u\n  user: {{token: {token}}}\n").replace(
        "    certificate-authority-data", "\t  certificate-authority-data")}),
    "multi-document": dict(files={"config": std("- name: u\n  user: {{token: {token}}}\n")
                                  + "---\ncurrent-context: nope\n"}),
    "anchors-and-merge-keys": dict(files={"config": (
        "base: &cl\n  server: {url}\n  certificate-authority-data: {ca}\n"
        "clusters:\n- name: c\n  cluster:\n    <<: *cl\n"
        "contexts:\n- name: x\n  context:\n    <<: [{{cluster: c}}, {{cluster: nope}}]\n    user: u\n"
        "current-context: x\nusers: [{{name: u, user: &u {{token: {token}}}}}, {{name: v, user: *u}}]\n")}),
    "crlf-bom": dict(files={"config": "\ufeff" + std("- name: u\n  user: {{token: {token}}}\n").replace("\n", "\r\n")}),
    "kubeconfig-merge": dict(files={
        "a.yaml": ("contexts: [{{name: x, context: {{cluster: c, user: u}}}}]\ncurrent-context: \"\"\n"
                   "users: [{{name: u, user: {{token: {token}}}}}]\n"),
        "sub/b.yaml": ("clusters:\n- name: c\n  cluster: {{server: \"{url}\", certificate-authority: ../ca.crt}}\n"
                       "current-context: x\nusers: [{{name: u, user: {{token: wrong}}}}]\n"),
        "ca.crt": "{ca_pem}"}, env={"KUBECONFIG": ":a.yaml::sub/b.yaml:a.yaml"}),
    "kubeconfig-dir-entry": dict(files={"config": std("- name: u\n  user: {{token: {token}}}\n"), "d/x": ""},
                                 env={"KUBECONFIG": "d:config"}),
    "explicit-missing": dict(files={}, path="nope.yaml"),
    "exec-v1": dict(files={"config": std(
        "- name: u\n  user:\n    exec:\n      apiVersion: client.authentication.k8s.io/v1\n"
        "      command: ./plug.sh\n      args: [\"arg one\", two]\n      env: [{{name: EXEC_OUT, value: \"{dir}/exec-info\"}}]\n"
        "      interactiveMode: Never\n      provideClusterInfo: true\n", "    extensions:\n"
        "    - name: client.authentication.k8s.io/exec\n      extension: {{audience: parity, n: 1}}\n"),
        "plug.sh": "{plugin_v1}"}, exec_info=True),
    "exec-v1beta1-default-mode": dict(files={"config": std(
        "- name: u\n  user:\n    exec:\n      apiVersion: client.authentication.k8s.io/v1beta1\n"
        "      command: ./plug.sh\n      env: [{{name: EXEC_OUT, value: \"{dir}/exec-info\"}}]\n"),
        "plug.sh": "{plugin_v1beta1}"}, exec_info=True),
    "exec-v1-without-interactive-mode": dict(files={"config": std(
        "- name: u\n  user:\n    exec:\n      apiVersion: client.authentication.k8s.io/v1\n      command: ./plug.sh\n"),
        "plug.sh": "{plugin_v1}"}),
    "exec-not-run-with-token": dict(files={"config": std(
        "- name: u\n  user:\n    token: {token}\n    exec:\n      apiVersion: client.authentication.k8s.io/v1\n"
        "      command: /bin/false\n      interactiveMode: Never\n")}),
    "exec-v1alpha1": dict(files={"config": std(
        "- name: u\n  user:\n    exec: {{apiVersion: client.authentication.k8s.io/v1alpha1, command: /bin/false}}\n")}),
    "exec-always-without-terminal": dict(files={"config": std(
        "- name: u\n  user:\n    exec:\n      apiVersion: client.authentication.k8s.io/v1\n"
        "      command: ./plug.sh\n      interactiveMode: Always\n"
        "      env: [{{name: EXEC_OUT, value: \"{dir}/exec-info\"}}]\n"),
        "plug.sh": "{plugin_v1}"}),
    "exec-plugin-missing": dict(files={"config": std(
        "- name: u\n  user:\n    exec: {{apiVersion: client.authentication.k8s.io/v1, command: ./nope.sh,"
        " interactiveMode: Never}}\n")}),
    "exec-plugin-fails": dict(files={"config": std(
        "- name: u\n  user:\n    exec: {{apiVersion: client.authentication.k8s.io/v1, command: ./plug.sh,"
        " interactiveMode: Never}}\n"), "plug.sh": "#!/bin/sh\necho oops >&2\nexit 3\n"}),
    "exec-wrong-api-version": dict(files={"config": std(
        "- name: u\n  user:\n    exec:\n      apiVersion: client.authentication.k8s.io/v1\n"
        "      command: ./plug.sh\n      interactiveMode: Never\n"
        "      env: [{{name: EXEC_OUT, value: \"{dir}/exec-info\"}}]\n"),
        "plug.sh": "{plugin_v1beta1}"}),
    "token-with-spaces-verbatim": dict(files={"config": std("- name: u\n  user: {{token: '  {token}  '}}\n")}),
    "auth-provider-gcp": dict(files={"config": std("- name: u\n  user: {{auth-provider: {{name: gcp}}}}\n")}),
    "auth-provider-oidc": dict(files={"config": std(
        "- name: u\n  user:\n    auth-provider:\n      name: oidc\n      config: {{client-id: k, "
        "idp-issuer-url: \"https://127.0.0.1:1\", id-token: {jwt}}}\n")}),
    "proxy-url-http": dict(files={"config": std("- name: u\n  user: {{token: {token}}}\n",
                                                "    proxy-url: http://127.0.0.1:{proxy_port}\n")}, proxy=True),
    "proxy-url-despite-no-proxy": dict(files={"config": std("- name: u\n  user: {{token: {token}}}\n",
                                                            "    proxy-url: http://127.0.0.1:{proxy_port}\n")},
                                       path="config", env={"NO_PROXY": "127.0.0.1,localhost",
                                                           "no_proxy": "127.0.0.1,localhost"}, proxy=True),
    "proxy-url-https": dict(files={"config": std("- name: u\n  user: {{token: {token}}}\n",
                                                 "    proxy-url: https://127.0.0.1:{tls_proxy_port}\n")}, proxy=True),
    "proxy-url-socks5": dict(files={"config": std("- name: u\n  user: {{token: {token}}}\n",
                                                  "    proxy-url: socks5://127.0.0.1:{proxy_port}\n")}, proxy=True),
    "proxy-url-ftp": dict(files={"config": std("- name: u\n  user: {{token: {token}}}\n",
                                               "    proxy-url: ftp://127.0.0.1:21\n")}),
}

TOKEN_USER = "- name: u\n  user: {{token: {token}}}\n"
NO_CA = ("clusters: [{{name: c, cluster: {{server: \"{url}\"}}}}]\n" + STD_TAIL
         + "users: [{{name: u, user: {{token: {token}}}}}]\n")
WRONG_CA = std(TOKEN_USER).replace("{ca}", "{other_ca}")
PKI = {"pki/carol.crt": "{carol_crt_pem}", "pki/carol.key": "{carol_key_pem}", "pki/ca.crt": "{ca_pem}",
       "pki/other-ca.crt": "{other_ca_pem}", "tok": "wrong-token-in-file\n"}

# kubectl's connection flags (issue 12): the same flags to kubectl and to `fluxstate`.
FLAG_CASES = {
    "flag-token-over-wrong-token": dict(files={"config": std("- name: u\n  user: {{token: wrong}}\n")},
                                        flags=["--token", "{token}"]),
    "flag-token-user-token-file-wins": dict(files=dict(PKI, config=std("- name: u\n  user: {{tokenFile: tok}}\n")),
                                            flags=["--token", "{token}"]),
    "flag-token-with-basic-user": dict(files={"config": std("- name: u\n  user: {{username: bob, password: {pw}}}\n")},
                                       flags=["--token", "{token}"]),
    "flag-token-over-exec": dict(files={"config": std(
        "- name: u\n  user:\n    exec: {{apiVersion: client.authentication.k8s.io/v1, command: /bin/false, "
        "interactiveMode: Never}}\n")}, flags=["--token", "{token}"]),
    "flag-token-plus-user-cert": dict(files={"config": std(
        "- name: u\n  user: {{client-certificate-data: {carol_crt}, client-key-data: {carol_key}}}\n")},
        flags=["--token", "{token}"]),
    "flag-client-cert-and-key": dict(files=dict(PKI, config=std("- name: u\n  user: {{}}\n")),
                                     flags=["--client-certificate", "pki/carol.crt", "--client-key", "pki/carol.key"]),
    "flag-client-cert-over-data": dict(files=dict(PKI, config=std(
        "- name: u\n  user: {{token: {token}, client-certificate-data: {ca}, client-key-data: {carol_key}}}\n")),
        flags=["--client-certificate", "pki/carol.crt", "--client-key", "pki/carol.key"]),
    "flag-client-cert-without-key": dict(files=dict(PKI, config=std("- name: u\n  user: {{}}\n")),
                                         flags=["--client-certificate", "pki/carol.crt"]),
    "flag-certificate-authority": dict(files=dict(PKI, config=NO_CA), flags=["--certificate-authority", "pki/ca.crt"]),
    "flag-certificate-authority-replaces-data": dict(files=dict(PKI, config=WRONG_CA),
                                                     flags=["--certificate-authority", "pki/ca.crt"]),
    "flag-certificate-authority-wrong": dict(files=dict(PKI, config=std(TOKEN_USER)),
                                             flags=["--certificate-authority", "pki/other-ca.crt"]),
    "flag-insecure-over-wrong-ca": dict(files={"config": WRONG_CA}, flags=["--insecure-skip-tls-verify"]),
    "flag-insecure-false": dict(files={"config": WRONG_CA}, flags=["--insecure-skip-tls-verify=false"]),
    "flag-insecure-and-ca": dict(files=dict(PKI, config=NO_CA),
                                 flags=["--insecure-skip-tls-verify", "--certificate-authority", "pki/ca.crt"]),
    "flag-as-groups-uid": dict(files={"config": std(TOKEN_USER)},
                               flags=["--as", "jane", "--as-group", "g1", "--as-group", "g2", "--as-uid", "1234"]),
    "flag-as-over-user-as": dict(files={"config": std(
        "- name: u\n  user: {{token: {token}, as: bob, as-groups: [old], as-uid: '9'}}\n")}, flags=["--as", "jane"]),
    "flag-as-group-without-as": dict(files={"config": std(TOKEN_USER)}, flags=["--as-group", "g1"]),
    "flag-disable-compression": dict(files={"config": std(TOKEN_USER)}, flags=["--disable-compression"]),
    "flag-request-timeout": dict(files={"config": std(TOKEN_USER)}, flags=["--request-timeout", "5s"]),
}
for _n, _c in FLAG_CASES.items():
    _c["path"] = "config"
CASES.update(FLAG_CASES)

# Differences that are intended: case -> (what kubectl does, what we do).
# The test checks that exactly this is observed.
DIVERGENCES = {
    "no-credentials": ("no request", "anonymous requests"),
    "null-user": ("no request", "anonymous requests"),
}

PLUGIN = """#!/bin/sh
printf '%s' "$KUBERNETES_EXEC_INFO" > "$EXEC_OUT"
printf '\\n%s\\n' "$*" >> "$EXEC_OUT"
printf '{{"apiVersion":"client.authentication.k8s.io/{ver}","kind":"ExecCredential","status":{{"token":"{token}"}}}}\\n'
"""


def pem_to_b64(pem):
    return base64.b64encode(pem.encode()).decode()


class World:
    """The simulators, their credentials and the template values."""

    def __init__(self):
        self.sim = simhelper.Sim(config=SIM_CONFIG)
        self.plain = simhelper.Sim(config=SIM_CONFIG, plain=True)
        # tests/transport/connect-proxy.py: plain (CONNECT and SOCKS5) and TLS;
        # the TLS one uses the simulator's certificate, so the cluster CA verifies it
        self.proxy_log = os.path.join(self.sim.dir, "proxy.log")
        self.proxies = []
        ports = []
        script = os.path.join(HERE, "..", "transport", "connect-proxy.py")
        for extra in ([], ["--tls", os.path.join(self.sim.dir, "certs", "server.crt"),
                           os.path.join(self.sim.dir, "certs", "server.key")]):
            p = subprocess.Popen([sys.executable, script, "--log", self.proxy_log] + extra,
                                 stdout=subprocess.PIPE, text=True)
            self.proxies.append(p)
            ports.append(int(p.stdout.readline().strip().rsplit(":", 1)[1]))
        certs = os.path.join(self.sim.dir, "certs")
        with open(os.path.join(certs, "ca.crt")) as f:
            ca_pem = f.read()
        with open(os.path.join(certs, "client-carol.crt")) as f:
            carol_crt = f.read()
        with open(os.path.join(certs, "client-carol.key")) as f:
            carol_key = f.read()
        with open(os.path.join(CASES_DIR, "pki", "ca.crt")) as f:
            other_ca = f.read()
        ca_b64 = pem_to_b64(ca_pem)
        header = base64.urlsafe_b64encode(b'{"alg":"none"}').decode().rstrip("=")
        body = base64.urlsafe_b64encode(b'{"exp":4102444800,"iss":"https://127.0.0.1:1"}').decode().rstrip("=")
        self.values = {
            "url": self.sim.url, "port": self.sim.port, "ca": ca_b64, "ca_pem": ca_pem,
            "ca_block": "".join("      %s\n" % ca_b64[i:i + 76] for i in range(0, len(ca_b64), 76)),
            "ca_urlsafe": ca_b64.replace("+", "-").replace("/", "_") + "-_",
            "token": ADMIN_TOKEN, "pw": BOB_PASSWORD,
            "carol_crt": pem_to_b64(carol_crt), "carol_key": pem_to_b64(carol_key),
            "carol_crt_pem": carol_crt, "carol_key_pem": carol_key, "other_ca_pem": other_ca,
            "plain_url": self.plain.url, "plain_port": self.plain.port,
            "proxy_port": ports[0], "tls_proxy_port": ports[1],
            "jwt": header + "." + body + ".",
            "other_ca": pem_to_b64(other_ca),
            "plugin_v1": PLUGIN.format(ver="v1", token=ADMIN_TOKEN),
            "plugin_v1beta1": PLUGIN.format(ver="v1beta1", token=ADMIN_TOKEN),
        }

    def stop(self):
        for p in self.proxies:
            p.terminate()
            p.wait()
        self.sim.stop()
        self.plain.stop()


def read_new(path, offset):
    try:
        with open(path) as f:
            f.seek(offset)
            data = f.read()
            return [json.loads(line) for line in data.splitlines() if line.strip()], offset + len(data.encode())
    except FileNotFoundError:
        return [], offset


def signature(lines, prefix, exec_info, detail=False):
    """What reached the server, as a comparable value. @detail adds the
    Impersonate-Uid and Accept-Encoding headers (the flag cases)."""
    if not lines:
        sig = {"outcome": "no request"}
    else:
        ids = set()
        paths_ok = True
        for d in lines:
            if d.get("event") == "tls-handshake-failed":
                ids.add(("tls-handshake-failed",))
                continue
            h = d.get("headers", {})
            ident = (h.get("authorization"), d.get("clientCertCN"), d.get("sni"), d.get("tls"),
                     h.get("impersonate-user"), h.get("impersonate-group"))
            if detail:
                ident += (h.get("impersonate-uid"), "gzip" in (h.get("accept-encoding") or ""))
            ids.add(ident)
            if prefix and not d.get("path", "").startswith(prefix):
                paths_ok = False
        # kubectl 1.27 opens spare connections and drops them mid-handshake:
        # a failed handshake only counts when nothing else got through
        if len(ids) > 1:
            ids.discard(("tls-handshake-failed",))
        sig = {"outcome": "requests", "identities": sorted(ids, key=repr)}
        if prefix:
            sig["paths carry prefix"] = paths_ok
    if exec_info is not None:
        sig["exec info"] = exec_info
    return sig


def describe(sig):
    if sig["outcome"] == "no request":
        if sig.get("proxy saw"):
            return "no request; via proxy: " + ", ".join(sig["proxy saw"])
        return "no request"
    parts = []
    for i in sig["identities"]:
        if i == ("tls-handshake-failed",):
            parts.append("TLS handshake failed")
            continue
        auth, cn, sni, tls, imp, grp = i[:6]
        uid, gz = i[6:] if len(i) > 6 else (None, None)
        auth = (auth or "none").split(" ")[0]
        parts.append("%s%s%s%s%s%s%s%s" % ("https" if tls else "http", " " + auth if auth else "",
                                         " CN=" + cn if cn else "", " SNI=" + sni if sni else "",
                                         " as=" + imp if imp else "",
                                         " groups=" + grp.replace(" ", "") if grp and len(i) > 6 else "",
                                         " uid=" + uid if uid else "",
                                         " no-gzip" if gz is False else ""))
    if "paths carry prefix" in sig:
        parts.append("prefix kept" if sig["paths carry prefix"] else "prefix lost")
    if "proxy saw" in sig:
        parts.append("via proxy: " + ", ".join(sig["proxy saw"]) if sig["proxy saw"] else "proxy unused")
    return "; ".join(sorted(set(parts)))


class Runner:
    def __init__(self, world, case_name, case):
        self.world = world
        self.name = case_name
        self.case = case
        self.dir = tempfile.mkdtemp(prefix="parity-%s-" % case_name)
        values = dict(world.values, dir=self.dir)
        for rel, text in case["files"].items():
            p = os.path.join(self.dir, rel)
            os.makedirs(os.path.dirname(p), exist_ok=True)
            if rel.endswith("/x"):
                continue  # a directory entry
            with open(p, "w", newline="") as f:
                f.write(text.format(**values))
            if rel.endswith(".sh"):
                os.chmod(p, 0o755)
        self.values = values

    def cleanup(self):
        shutil.rmtree(self.dir, ignore_errors=True)

    def env(self):
        env = {k: v for k, v in os.environ.items()
               if k not in ("KUBECONFIG", "KUBERNETES_SERVICE_HOST", "KUBERNETES_SERVICE_PORT",
                            "HTTPS_PROXY", "https_proxy", "HTTP_PROXY", "http_proxy")}
        home = tempfile.mkdtemp(prefix="home-", dir=self.dir)
        env["HOME"] = home
        env.update(self.case.get("env", {}))
        return env

    def run(self, argv_client, extra_env=None):
        sim = self.world.plain if self.case.get("plain") else self.world.sim
        log = sim.log
        offset = os.path.getsize(log) if os.path.exists(log) else 0
        proxy_offset = os.path.getsize(self.world.proxy_log) if os.path.exists(self.world.proxy_log) else 0
        exec_out = os.path.join(self.dir, "exec-info")
        if os.path.exists(exec_out):
            os.unlink(exec_out)
        env = self.env()
        env.update(extra_env or {})
        proc = subprocess.run(argv_client, cwd=self.dir, env=env, stdin=subprocess.DEVNULL,
                              stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, timeout=60)
        # the simulator logs when a response starts; give a failed handshake a moment
        import time
        time.sleep(0.15)
        lines, _ = read_new(log, offset)
        tunnels = None
        if self.case.get("proxy"):
            with open(self.world.proxy_log, "a+") as f:
                f.seek(proxy_offset)
                tunnels = {t.split(" HTTP/")[0].split(":")[0] for t in f.read().splitlines()}
            if len(tunnels) > 1:  # spare connections dropped mid-handshake, as above
                tunnels.discard("TLS handshake failed")
            tunnels = sorted(tunnels)
        info = None
        if self.case.get("exec_info"):
            try:
                with open(exec_out) as f:
                    info = f.read()
            except FileNotFoundError:
                info = "(plugin not run)"
        sig = signature(lines, self.case.get("prefix"), info, detail="flags" in self.case)
        if tunnels is not None:
            sig["proxy saw"] = tunnels
        return proc.returncode, proc.stdout.strip(), sig

    def path_arg(self):
        return self.case.get("path", None if "env" in self.case else "config")

    def kubectl(self, minor):
        argv = [os.path.join(KUBECTL_DIR, "kubectl." + minor)]
        p = self.path_arg()
        if p:
            argv += ["--kubeconfig", p]
        if self.case.get("context"):
            argv += ["--context", self.case["context"]]
        if self.case.get("server"):
            argv += ["--server", self.case["server"].format(**self.values)]
        argv += ["--cache-dir", os.path.join(self.dir, "kcache-" + minor), "--request-timeout=8s"]
        argv += [f.format(**self.values) for f in self.case.get("flags", [])]
        argv += ["get", "ns"]
        return self.run(argv)

    def library(self):
        if "flags" in self.case:
            # the real command line: flags -> setters -> loader -> requests
            argv = [CLI, "--kubeconfig", self.path_arg(), "--timeout", "8s", "-q"]
            argv += [f.format(**self.values) for f in self.case["flags"]]
            return self.run(argv)
        argv = [CLIENT, self.path_arg() or "-"]
        if self.case.get("context"):
            argv.append(self.case["context"])
        extra = {}
        if self.case.get("server"):
            extra["PARITY_SERVER"] = self.case["server"].format(**self.values)
        return self.run(argv, extra)


RESULTS = []


class TestParity(unittest.TestCase):
    world = None

    @classmethod
    def setUpClass(cls):
        for what, path in (("PARITY_CLIENT", CLIENT), ("FLUXSTATE_CLI", CLI)):
            if not path or not os.access(path, os.X_OK):
                raise AssertionError("%s not built (%r)" % (what, path))
        missing = [m for m in MINORS if not os.access(os.path.join(KUBECTL_DIR, "kubectl." + m), os.X_OK)]
        if missing:
            raise AssertionError("kubectl %s missing in %s" % (", ".join(missing), KUBECTL_DIR))
        cls.world = World()

    @classmethod
    def tearDownClass(cls):
        if cls.world:
            cls.world.stop()
        report = os.environ.get("PARITY_REPORT")
        if report:
            with open(report, "w") as f:
                f.write("| case | kubectl %s | libfluxstate | verdict |\n|---|---|---|---|\n" % "/".join(MINORS))
                for name, k, lib, verdict in RESULTS:
                    f.write("| %s | %s | %s | %s |\n" % (name, k, lib, verdict))

    def check_case(self, name):
        case = CASES[name]
        r = Runner(self.world, name, case)
        try:
            lib_rc, lib_out, lib_sig = r.library()
            ksigs = {}
            kouts = {}
            for m in MINORS:
                _rc, out, sig = r.kubectl(m)
                ksigs[m] = sig
                kouts[m] = out
            first = ksigs[MINORS[0]]
            for m in MINORS[1:]:
                self.assertEqual(ksigs[m], first, "%s: kubectl %s and %s disagree" % (name, MINORS[0], m))
            if name in DIVERGENCES:
                want_k, want_lib = DIVERGENCES[name]
                RESULTS.append((name, describe(first), describe(lib_sig), "intended divergence"))
                self.assertEqual(describe(first) if want_k == "no request" else want_k, want_k,
                                 "%s: kubectl no longer does what the divergence says: %s" % (name, kouts))
                self.assertEqual(lib_sig["outcome"], "requests", "%s: %s" % (name, lib_out))
                for ident in lib_sig["identities"]:
                    self.assertIsNone(ident[0], "%s: expected anonymous requests" % name)
                return
            RESULTS.append((name, describe(first), describe(lib_sig),
                            "same" if lib_sig == first else "DIFFERENT"))
            self.assertEqual(lib_sig, first, "%s differs.\nkubectl %s: %s\n  %s\nlibfluxstate: %s\n  %s" % (
                name, MINORS[0], describe(first), kouts[MINORS[0]][:400], describe(lib_sig), lib_out[:400]))
        finally:
            r.cleanup()


def _make(name):
    def test(self):
        self.check_case(name)
    test.__name__ = "test_" + name.replace("-", "_")
    return test


for _name in CASES:
    setattr(TestParity, "test_" + _name.replace("-", "_"), _make(_name))


if __name__ == "__main__":
    unittest.main(verbosity=2)

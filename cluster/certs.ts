/**
 * The PKI of one control plane, made with the openssl CLI (Node's crypto can make keys but not
 * X.509 certificates). One CA signs the apiserver's serving certificate and every client
 * certificate; Kubernetes reads the user from CN and the groups from O.
 *
 * Made once per cluster directory and reused on every restart: a new CA would make the cluster
 * a different one to every kubeconfig and to Pulumi's Kubernetes provider.
 */
import { execFileSync } from "node:child_process";
import { randomBytes } from "node:crypto";
import * as fs from "node:fs";
import * as path from "node:path";

export interface ClientCert {
  cert: string;
  key: string;
}

export interface Pki {
  dir: string;
  caCert: string;
  caKey: string;
  servingCert: string;
  servingKey: string;
  /** Service-account token signing key pair. */
  saKey: string;
  saPub: string;
  clients: Record<string, ClientCert>;
}

export interface ClientSpec {
  /** File name stem and kubeconfig user name. */
  name: string;
  /** Kubernetes user name (certificate CN). */
  user: string;
  /** Kubernetes groups (certificate O). */
  groups?: readonly string[];
}

/** Undefined when openssl can run; otherwise why not. */
export function opensslMissing(): string | undefined {
  try {
    execFileSync("openssl", ["version"], { stdio: "pipe" });
    return undefined;
  } catch (err) {
    return `openssl is needed to make the cluster's certificates (apt-get install openssl): ${(err as Error).message}`;
  }
}

function openssl(args: readonly string[], cwd: string): void {
  try {
    execFileSync("openssl", [...args], { cwd, stdio: "pipe" });
  } catch (err) {
    const e = err as Error & { stderr?: Buffer };
    throw new Error(`openssl ${args.join(" ")} failed: ${e.stderr?.toString().trim() || e.message}`);
  }
}

// P-256 keys: quick to generate, and accepted everywhere Kubernetes takes a key.
const EC_KEY = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes"];
// Ten years: the cluster is loopback-only and keeps its identity across restarts, so an expiry
// would only break a long-lived local cluster without protecting anything.
const DAYS = "3650";

/** The CA that signs, as files; relative paths are read in the directory of the new certificate. */
interface SigningCa {
  cert: string;
  key: string;
}

function sign(dir: string, stem: string, subject: string, extensions: string, ca: SigningCa = { cert: "ca.crt", key: "ca.key" }): void {
  openssl(["req", "-new", ...EC_KEY, "-keyout", `${stem}.key`, "-out", `${stem}.csr`, "-subj", subject], dir);
  fs.writeFileSync(path.join(dir, `${stem}.ext`), extensions);
  const serial = `0x${randomBytes(8).toString("hex")}`;
  openssl(
    [
      "x509",
      "-req",
      "-in",
      `${stem}.csr`,
      "-CA",
      ca.cert,
      "-CAkey",
      ca.key,
      "-set_serial",
      serial,
      "-days",
      DAYS,
      "-sha256",
      "-out",
      `${stem}.crt`,
      "-extfile",
      `${stem}.ext`,
    ],
    dir,
  );
}

/**
 * A serving certificate from the cluster CA for a component listening on 127.0.0.1, also valid
 * for `extraIps` (the addresses its clients dial, e.g. the fake nodes' IP for kwok's kubelet server)
 * and `dnsNames` (a Service's in-cluster names, for clients that dial it by name).
 */
export function issueServingCert(pki: Pki, name: string, extraIps: readonly string[] = [], dnsNames: readonly string[] = []): ClientCert {
  sign(
    pki.dir,
    name,
    `/CN=${name}`,
    [
      "basicConstraints=CA:FALSE",
      "keyUsage=critical,digitalSignature,keyEncipherment",
      "extendedKeyUsage=serverAuth,clientAuth",
      `subjectAltName=${[...["127.0.0.1", ...extraIps].map((ip) => `IP:${ip}`), ...["localhost", ...dnsNames].map((d) => `DNS:${d}`)].join(",")}`,
      "",
    ].join("\n"),
  );
  return { cert: path.join(pki.dir, `${name}.crt`), key: path.join(pki.dir, `${name}.key`) };
}

/**
 * The cluster's PKI in `dir`: whatever exists is kept, whatever is missing is made. Without a CA
 * everything is made anew, since certificates from another CA would not verify.
 */
export function makePki(dir: string, clients: readonly ClientSpec[]): Pki & { reused: boolean } {
  fs.mkdirSync(dir, { recursive: true });
  const has = (stem: string, ...exts: string[]): boolean => exts.every((e) => fs.existsSync(path.join(dir, `${stem}.${e}`)));
  const reused = has("ca", "crt", "key");
  if (!reused) {
    for (const f of fs.readdirSync(dir)) fs.rmSync(path.join(dir, f), { recursive: true, force: true });
    openssl(
      [
        "req",
        "-x509",
        "-new",
        ...EC_KEY,
        "-keyout",
        "ca.key",
        "-out",
        "ca.crt",
        "-days",
        DAYS,
        "-sha256",
        "-subj",
        "/CN=sie-fleet-ca",
        "-addext",
        "basicConstraints=critical,CA:TRUE",
        "-addext",
        "keyUsage=critical,keyCertSign,cRLSign,digitalSignature",
      ],
      dir,
    );
  }
  // The first service IP (10.96.0.1) and the in-cluster names are what pods would dial.
  if (!has("apiserver", "crt", "key")) {
    sign(
      dir,
      "apiserver",
      "/CN=kube-apiserver",
      [
        "basicConstraints=CA:FALSE",
        "keyUsage=critical,digitalSignature,keyEncipherment",
        "extendedKeyUsage=serverAuth",
        "subjectAltName=IP:127.0.0.1,IP:10.96.0.1,DNS:localhost,DNS:kubernetes,DNS:kubernetes.default,DNS:kubernetes.default.svc,DNS:kubernetes.default.svc.cluster.local",
        "",
      ].join("\n"),
    );
  }
  const out: Record<string, ClientCert> = {};
  for (const c of clients) {
    out[c.name] = has(c.name, "crt", "key") ? { cert: path.join(dir, `${c.name}.crt`), key: path.join(dir, `${c.name}.key`) } : issueClientCert(dir, c);
  }
  // A new service-account key would invalidate every token already handed out.
  if (!has("sa", "key", "pub")) {
    openssl(["genpkey", "-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-out", "sa.key"], dir);
    openssl(["pkey", "-in", "sa.key", "-pubout", "-out", "sa.pub"], dir);
  }
  return {
    dir,
    caCert: path.join(dir, "ca.crt"),
    caKey: path.join(dir, "ca.key"),
    servingCert: path.join(dir, "apiserver.crt"),
    servingKey: path.join(dir, "apiserver.key"),
    saKey: path.join(dir, "sa.key"),
    saPub: path.join(dir, "sa.pub"),
    clients: out,
    reused,
  };
}

/**
 * A client certificate for `spec.user` (CN) in `spec.groups` (O), signed by the CA in `caDir`
 * (ca.crt, ca.key), written to `dir` (default: caDir). The API server authenticates whoever holds
 * it as that user: RBAC then decides what it may do.
 */
export function issueClientCert(caDir: string, spec: ClientSpec, dir = caDir): ClientCert {
  fs.mkdirSync(dir, { recursive: true });
  const subject = [...(spec.groups ?? []).map((g) => `/O=${g}`), `/CN=${spec.user}`].join("");
  sign(
    dir,
    spec.name,
    subject,
    ["basicConstraints=CA:FALSE", "keyUsage=critical,digitalSignature,keyEncipherment", "extendedKeyUsage=clientAuth", ""].join("\n"),
    { cert: path.resolve(caDir, "ca.crt"), key: path.resolve(caDir, "ca.key") },
  );
  return { cert: path.join(dir, `${spec.name}.crt`), key: path.join(dir, `${spec.name}.key`) };
}

/** A kubeconfig with the certificates embedded, so it stays valid if the files move. */
export function kubeconfig(server: string, caCert: string, client: ClientCert, user: string): string {
  const b64 = (f: string): string => fs.readFileSync(f).toString("base64");
  // JSON is valid YAML, and every Kubernetes client reads it.
  return JSON.stringify(
    {
      apiVersion: "v1",
      kind: "Config",
      clusters: [{ name: "sie-fleet", cluster: { server, "certificate-authority-data": b64(caCert) } }],
      users: [{ name: user, user: { "client-certificate-data": b64(client.cert), "client-key-data": b64(client.key) } }],
      contexts: [{ name: "sie-fleet", context: { cluster: "sie-fleet", user, namespace: "default" } }],
      "current-context": "sie-fleet",
      preferences: {},
    },
    null,
    2,
  );
}

/**
 * A self-signed serving certificate for 127.0.0.1, made with the openssl CLI (Node's crypto can
 * make keys but not X.509 certificates). The API server only calls admission webhooks over
 * HTTPS; the certificate is its own CA (the webhook's caBundle), lives in memory only, and is
 * thrown away with the endpoint server.
 */
import { execFileSync } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";

export interface ServingCert {
  /** PEM. */
  cert: string;
  key: string;
}

export function selfSignedCert(commonName: string): ServingCert {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "sie-fleet-webhook-"));
  try {
    execFileSync(
      "openssl",
      [
        "req",
        "-x509",
        "-new",
        "-newkey",
        "ec",
        "-pkeyopt",
        "ec_paramgen_curve:prime256v1",
        "-nodes",
        "-keyout",
        "tls.key",
        "-out",
        "tls.crt",
        "-days",
        "30",
        "-sha256",
        "-subj",
        `/CN=${commonName}`,
        "-addext",
        "basicConstraints=critical,CA:TRUE",
        "-addext",
        "keyUsage=critical,keyCertSign,digitalSignature,keyEncipherment",
        "-addext",
        "extendedKeyUsage=serverAuth",
        "-addext",
        "subjectAltName=IP:127.0.0.1,DNS:localhost",
      ],
      { cwd: dir, stdio: "pipe" },
    );
    return { cert: fs.readFileSync(path.join(dir, "tls.crt"), "utf8"), key: fs.readFileSync(path.join(dir, "tls.key"), "utf8") };
  } catch (err) {
    const e = err as Error & { stderr?: Buffer };
    throw new Error(`openssl could not make the fault webhook's certificate (apt-get install openssl): ${e.stderr?.toString().trim() || e.message}`);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

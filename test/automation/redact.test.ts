import { describe, expect, it } from "vitest";
import { kubeconfigSecrets, redact, redactText, secretsFromEnv } from "../../core/redact.js";

describe("redact", () => {
  it("replaces known secret values anywhere, and values of secret-named keys", () => {
    const input = {
      message: "connecting with passphrase hunter2-very-secret to backend",
      nested: [{ note: "token=hf_abcdefgh in url" }],
      hfToken: "anything at all",
      "sie-fleet:hfToken": { value: "plain?", secret: true },
      kubeconfig: "apiVersion: v1\nclusters: []",
      kubeconfigPath: "/home/u/.kube/config",
      PULUMI_CONFIG_PASSPHRASE: "x",
      password: 1234,
      tokenCount: 3,
      hasToken: true,
      nothing: null,
    };
    const out = redact(input, ["hunter2-very-secret", "hf_abcdefgh"]);
    expect(out.message).toBe("connecting with passphrase [REDACTED] to backend");
    expect(out.nested[0]!.note).toBe("token=[REDACTED] in url");
    expect(out.hfToken).toBe("[REDACTED]");
    expect(out["sie-fleet:hfToken"]).toBe("[REDACTED]");
    expect(out.kubeconfig).toBe("[REDACTED]");
    expect(out.kubeconfigPath).toBe("/home/u/.kube/config");
    expect(out.PULUMI_CONFIG_PASSPHRASE).toBe("[REDACTED]");
    expect(out.password).toBe("[REDACTED]");
    expect(out.tokenCount).toBe(3);
    expect(out.hasToken).toBe(true);
    expect(out.nothing).toBeNull();
    expect(input.hfToken).toBe("anything at all");
  });

  it("redacts secret Pulumi config values by their secret flag", () => {
    const out = redact({ "sie-fleet:images": { value: "v0.3.1", secret: false }, "sie-fleet:dbUrl": { value: "postgres://u:p@h", secret: true } });
    expect(out["sie-fleet:images"]).toEqual({ value: "v0.3.1", secret: false });
    expect(out["sie-fleet:dbUrl"]).toEqual({ value: "[REDACTED]", secret: true });
  });

  it("handles errors, cycles and short secrets", () => {
    const err = new Error("failed with secret-value-123");
    const cyc: Record<string, unknown> = { a: 1 };
    cyc["self"] = cyc;
    const out = redact({ err, cyc, s: "abc" }, ["secret-value-123", "abc"]);
    expect((out.err as unknown as { message: string }).message).toBe("failed with [REDACTED]");
    expect((out.cyc as Record<string, unknown>)["self"]).toBe("[Circular]");
    // Too short to search for without wrecking the text.
    expect(out.s).toBe("abc");
  });

  it("redactText and secretsFromEnv", () => {
    expect(redactText("pw=abcdef!", ["abcdef"])).toBe("pw=[REDACTED]!");
    expect(secretsFromEnv({ PULUMI_CONFIG_PASSPHRASE: "pp", HF_TOKEN: "hf_x", OTHER: "o" })).toEqual(["pp", "hf_x"]);
  });

  it("kubeconfigSecrets: the text, each credential as stored and decoded", () => {
    const key = "-----BEGIN EC PRIVATE KEY-----\nMHcCAQEEIKey\n-----END EC PRIVATE KEY-----\n";
    const cert = "-----BEGIN CERTIFICATE-----\nMIIBCert\n-----END CERTIFICATE-----\n";
    const b64 = (s: string) => Buffer.from(s).toString("base64");
    const text = `apiVersion: v1\nkind: Config\nusers:\n- name: admin\n  user:\n    client-certificate-data: ${b64(cert)}\n    client-key-data: ${b64(key)}\n- name: bot\n  user:\n    token: tok-123456\n`;
    expect(kubeconfigSecrets(text)).toEqual([text, b64(cert), cert, b64(key), key, "tok-123456"]);
    expect(kubeconfigSecrets("not: [yaml")).toEqual(["not: [yaml"]);
  });
});

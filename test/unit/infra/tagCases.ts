// Image tags the config must accept / reject.
export const IMAGE_TAG_PATTERN_CASES = {
  valid: ["v0.3.1", "0.3.1", "v0.4.0-rc.1", "latest", "main_2026-01-02", "sha-abc123", "A".repeat(128)],
  invalid: ["", "latest;rm", "v0.3 .1", "repo:v1", "v1@sha256:abc", ".hidden", "-dash", "A".repeat(129), "v1/2"],
} as const;

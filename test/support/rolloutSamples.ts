// What the release looked like, every 250 ms, while an upgrade ran: which images the canary and
// the later pools' pods ran, what held the later pools (partition, paused gateway), whether KEDA
// was frozen. Lets a test show the canary rolled first while the real controllers held the rest.
import { sampleWhile } from "./sampleWhile.js";
import { pausedAnnotations, type StackFixture } from "./stackFixture.js";

export interface RolloutSample {
  /** Images of the canary pool's (l4) worker pods that are not terminating. */
  canaryPods: string[];
  /** The same for the a100 pool, a later wave. */
  laterPods: string[];
  laterTemplate: string;
  laterPartition: number | undefined;
  laterReplicas: number;
  gatewayPaused: boolean;
  gatewayPods: string[];
  frozen: boolean;
}

export function sampleRollout<T>(fx: StackFixture, run: () => Promise<T>): Promise<{ result: T; samples: RolloutSample[] }> {
  const podImages = async (selector: string) =>
    (await fx.core.listNamespacedPod({ namespace: fx.namespace, labelSelector: selector })).items
      .filter((p) => !p.metadata?.deletionTimestamp)
      .map((p) => p.spec?.containers[0]?.image ?? "");
  return sampleWhile(
    run,
    async () => {
      const later = await fx.apps.readNamespacedStatefulSet({ name: `${fx.fullname}-worker-a100`, namespace: fx.namespace });
      const gw = await fx.apps.readNamespacedDeployment({ name: `${fx.fullname}-gateway`, namespace: fx.namespace });
      return {
        canaryPods: await podImages("app.kubernetes.io/component=worker,sie.superlinked.com/pool=l4"),
        laterPods: await podImages("app.kubernetes.io/component=worker,sie.superlinked.com/pool=a100"),
        laterTemplate: later.spec?.template.spec?.containers[0]?.image ?? "",
        laterPartition: later.spec?.updateStrategy?.rollingUpdate?.partition,
        laterReplicas: later.spec?.replicas ?? 0,
        gatewayPaused: gw.spec?.paused === true,
        gatewayPods: await podImages("app.kubernetes.io/component=gateway"),
        frozen: Object.values(await pausedAnnotations(fx)).some((v) => v !== undefined),
      };
    },
    250,
  );
}

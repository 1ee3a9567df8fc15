/** The ScaleProvider a router's config names (--autoscale-provider). */
import type { Logger } from "pino";
import type { RouterConfig } from "../config/router-config.js";
import { LocalProcessProvider } from "./local-process-provider.js";
import type { ScaleProvider } from "./scale-provider.js";

export async function createScaleProvider(config: RouterConfig, logger: Logger): Promise<ScaleProvider> {
  switch (config.autoscaleProvider) {
    case "local-process":
      return new LocalProcessProvider({ command: config.autoscaleWorkerCommand!, idPrefix: config.autoscaleWorkerIdPrefix, logger });
    case "kubernetes": {
      // Loaded only here: @kubernetes/client-node is large and no other router needs it.
      const { KubernetesScaleProvider } = await import("./kubernetes/kubernetes-provider.js");
      return KubernetesScaleProvider.fromEnvironment({ deployment: config.k8sWorkerDeployment!, ...(config.k8sNamespace === undefined ? {} : { namespace: config.k8sNamespace }), logger });
    }
    default:
      throw new Error(`no scale provider ${String(config.autoscaleProvider)}`);
  }
}

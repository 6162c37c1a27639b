/** The series a spec defines: policies × their targets × selected instances × enabled components. Pure. */
import type { Instance, Policy, Series } from "./types.js";

export function seriesAddress(instance: string, component: string, target: string): string {
  return `${instance}/${component}@${target}`;
}

/**
 * Every series, in spec order (policy, target, instance, component). Names that do not exist are
 * skipped (the loader reports them); disabled components are only ever skipped, even when a policy
 * names them, because `enabled: false` is the one switch that stops backups of a component.
 */
export function listSeries(instances: Record<string, Instance>, policies: readonly Policy[]): Series[] {
  const out: Series[] = [];
  for (const policy of policies) {
    const instanceNames = policy.instances.length > 0 ? policy.instances : Object.keys(instances);
    for (const target of policy.targets) {
      for (const iname of instanceNames) {
        const instance = instances[iname];
        if (!instance) continue;
        for (const component of Object.values(instance.components)) {
          if (!component.enabled) continue;
          if (policy.components.length > 0 && !policy.components.includes(component.name)) continue;
          out.push({
            address: seriesAddress(iname, component.name, target),
            instance: iname,
            component: component.name,
            target,
            every: policy.every,
            keep: policy.keep,
            ...(policy.verify !== undefined ? { verify: policy.verify } : {}),
            consistency: policy.consistency ?? component.consistency,
            policyIndex: policy.index,
          });
        }
      }
    }
  }
  return out;
}

/** Series defined by more than one policy: each later one paired with the first definition. */
export function duplicateSeries(series: readonly Series[]): { series: Series; first: Series }[] {
  const seen = new Map<string, Series>();
  const dups: { series: Series; first: Series }[] = [];
  for (const s of series) {
    const first = seen.get(s.address);
    if (first && first.policyIndex !== s.policyIndex) dups.push({ series: s, first });
    else if (!first) seen.set(s.address, s);
  }
  return dups;
}

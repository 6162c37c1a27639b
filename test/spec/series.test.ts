import { describe, expect, it } from "vitest";
import { expandComponents } from "../../src/spec/presets.js";
import { duplicateSeries, listSeries } from "../../src/spec/series.js";
import type { Instance, Policy } from "../../src/spec/types.js";

const instance = (name: string, overrides = {}): Instance => ({ name, path: `/data/${name}`, components: expandComponents("open-webui", overrides).components });
const policy = (index: number, p: Partial<Policy>): Policy => ({ index, targets: [], instances: [], components: [], every: "daily", keep: { daily: 7 }, ...p });
const instances = { a: instance("a"), b: instance("b", { uploads: { enabled: false }, cache: { enabled: true, consistency: "cold" } }) };

describe("listSeries", () => {
  it("crosses targets × instances × enabled components, in spec order", () => {
    const series = listSeries(instances, [policy(0, { targets: ["s3", "nas"], instances: ["b"] })]);
    expect(series.map((s) => s.address)).toEqual([
      "b/webui.db@s3", "b/vector_db@s3", "b/cache@s3",
      "b/webui.db@nas", "b/vector_db@nas", "b/cache@nas",
    ]);
  });

  it("empty selectors mean every instance and every enabled component", () => {
    expect(listSeries(instances, [policy(0, { targets: ["nas"] })])).toHaveLength(6);
  });

  it("a policy's consistency overrides the component's; otherwise the component's applies", () => {
    const [hot] = listSeries(instances, [policy(0, { targets: ["nas"], instances: ["b"], components: ["cache"] })]);
    expect(hot?.consistency).toBe("cold");
    const all = listSeries(instances, [policy(3, { targets: ["nas"], consistency: "cold", verify: "weekly", keep: { weekly: 3 } })]);
    expect(new Set(all.map((s) => s.consistency))).toEqual(new Set(["cold"]));
    expect(all[0]).toEqual({
      address: "a/webui.db@nas", instance: "a", component: "webui.db", target: "nas",
      every: "daily", keep: { weekly: 3 }, verify: "weekly", consistency: "cold", policyIndex: 3,
    });
  });

  it("never includes disabled components, even when named; skips unknown instances", () => {
    expect(listSeries(instances, [policy(0, { targets: ["nas"], components: ["uploads", "audit.log"], instances: ["b", "zzz"] })])).toEqual([]);
  });

  it("finds series defined by two policies", () => {
    const series = listSeries(instances, [
      policy(0, { targets: ["nas"], instances: ["a"] }),
      policy(1, { targets: ["nas", "s3"], components: ["uploads"] }),
    ]);
    expect(duplicateSeries(series).map((d) => [d.series.address, d.first.policyIndex, d.series.policyIndex])).toEqual([["a/uploads@nas", 0, 1]]);
  });
});

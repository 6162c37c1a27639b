import { describe, expect, it } from "vitest";
import { formatAge, formatDuration, parseDuration, subtractDuration } from "../../src/plan/duration.js";

describe("parseDuration", () => {
  it("parses restic durations", () => {
    expect(parseDuration("1y2m3d4h")).toEqual({ years: 1, months: 2, days: 3, hours: 4 });
    expect(parseDuration("30d")).toEqual({ years: 0, months: 0, days: 30, hours: 0 });
    expect(parseDuration("12h")).toEqual({ years: 0, months: 0, days: 0, hours: 12 });
    expect(parseDuration("2w")).toEqual({ years: 0, months: 0, days: 14, hours: 0 });
    expect(parseDuration("1w3d")).toMatchObject({ days: 10 });
    expect(parseDuration(" 6m ")).toMatchObject({ months: 6 });
  });

  it("says what is wrong", () => {
    expect(() => parseDuration("")).toThrow(/empty duration/);
    expect(() => parseDuration("5")).toThrow(/no unit after 5/);
    expect(() => parseDuration("3x")).toThrow(/unknown unit "x"/);
    expect(() => parseDuration("1d2d")).toThrow(/unit "d" given twice/);
    expect(() => parseDuration("0d")).toThrow(/zero/);
    expect(() => parseDuration("-1d")).toThrow(/expected a number/);
    expect(() => parseDuration("1d 2h")).toThrow(/expected a number at " 2h"/);
  });

  it("formats back in restic's spelling", () => {
    expect(formatDuration(parseDuration("2w"))).toBe("14d");
    expect(formatDuration(parseDuration("1y2m3d4h"))).toBe("1y2m3d4h");
  });
});

describe("subtractDuration", () => {
  const sub = (iso: string, d: string) => subtractDuration(new Date(iso), parseDuration(d)).toISOString();
  it("works in calendar units, normalising like Go's AddDate", () => {
    expect(sub("2024-03-15T10:00:00Z", "1m")).toBe("2024-02-15T10:00:00.000Z");
    expect(sub("2023-03-31T10:00:00Z", "1m")).toBe("2023-03-03T10:00:00.000Z"); // "31 Feb" → 3 Mar
    expect(sub("2024-03-31T10:00:00Z", "1m")).toBe("2024-03-02T10:00:00.000Z"); // leap year
    expect(sub("2024-02-29T00:00:00Z", "1y")).toBe("2023-03-01T00:00:00.000Z");
    expect(sub("2024-01-01T03:00:00Z", "1d4h")).toBe("2023-12-30T23:00:00.000Z");
    expect(sub("2024-01-10T00:00:00Z", "2w")).toBe("2023-12-27T00:00:00.000Z");
  });
});

describe("formatAge", () => {
  it("shows at most two units", () => {
    expect(formatAge(27 * 3_600_000)).toBe("1d 3h");
    expect(formatAge(45 * 60_000)).toBe("45m");
    expect(formatAge(9 * 86_400_000)).toBe("9d");
    expect(formatAge(9 * 86_400_000 + 5 * 60_000)).toBe("9d");
    expect(formatAge(3 * 3_600_000 + 5 * 60_000)).toBe("3h 5m");
    expect(formatAge(12_345)).toBe("12s");
    expect(formatAge(-60_000)).toBe("-1m");
  });
});

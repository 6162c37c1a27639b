import type { CommandContext } from "../context.js";

export async function run(ctx: CommandContext, _opts: { strict?: boolean }): Promise<number> {
  ctx.stdout(`${ctx.configPath}: validation not built yet\n`);
  return 0;
}

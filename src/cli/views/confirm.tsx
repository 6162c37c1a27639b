/** The approval prompt on a TTY (ink): destructive actions are listed apart, then "yes" is asked for. */
import React, { useState } from "react";
import { render, Box, Text, useInput, useApp } from "ink";
import type { Plan } from "../../plan/types.js";

function Confirm({ plan, onAnswer }: { plan: Plan; onAnswer: (yes: boolean) => void }) {
  const [typed, setTyped] = useState("");
  const { exit } = useApp();
  useInput((input, key) => {
    // A fast typist (or a paste) can deliver "yes\r" in one chunk: treat the newline as Enter.
    const nl = input.search(/[\r\n]/);
    if (key.return || nl >= 0) {
      const answer = nl >= 0 ? typed + input.slice(0, nl) : typed;
      onAnswer(answer.trim().toLowerCase() === "yes");
      exit();
    } else if (key.escape || (key.ctrl && input === "c")) {
      onAnswer(false);
      exit();
    } else if (key.backspace || key.delete) setTyped((t) => t.slice(0, -1));
    else setTyped((t) => t + input);
  });
  const prunes = plan.actions.filter((a) => a.type === "prune");
  return (
    <Box flexDirection="column">
      {prunes.length > 0 && (
        <Box flexDirection="column" marginBottom={1}>
          <Text color="red" bold>
            {prunes.length} snapshot{prunes.length === 1 ? "" : "s"} will be deleted:
          </Text>
          {prunes.map((a) => (
            <Text key={a.address + (a.type === "prune" ? a.snapshotId : "")} color="red">
              {"  - "}
              {a.address} {a.type === "prune" ? `${a.snapshotId.slice(0, 8)} (${a.snapshotTime})` : ""}
            </Text>
          ))}
        </Box>
      )}
      <Text>
        Do you want to perform these actions? Only &apos;yes&apos; will be accepted: <Text bold>{typed}</Text>
      </Text>
    </Box>
  );
}

export function askApproval(plan: Plan): Promise<boolean> {
  return new Promise((resolve) => {
    let answered = false;
    const app = render(
      <Confirm
        plan={plan}
        onAnswer={(yes) => {
          answered = true;
          resolve(yes);
        }}
      />,
      { stdout: process.stderr, exitOnCtrlC: false, patchConsole: false },
    );
    void app.waitUntilExit().then(() => {
      if (!answered) resolve(false);
    });
  });
}

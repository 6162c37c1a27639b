export { docker, DockerCommandError, resolveVolume, startService, stopService, startCommand, type ComposeService, type DockerOptions } from "./docker.js";
export { withColdWindow, type ColdWindowOptions } from "./cold.js";

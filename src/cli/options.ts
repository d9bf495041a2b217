/**
 * Options shared by every `rpc` command, and loading the config they point at.
 */
import { Command } from 'commander';
import { DEFAULT_CONFIG_FILE, type HostConfig, loadHostConfig } from '../config.js';
import { controlSocketPath } from '../control.js';

/** Options every command accepts. */
export interface CommonOptions {
  /** Config file. @default ./rpc.config.json */
  config: string;
}

/** A subcommand with `--config/-c PATH` already declared. */
export function command(name: string, description: string): Command {
  return new Command(name)
    .description(description)
    .option('-c, --config <path>', 'host config file', DEFAULT_CONFIG_FILE);
}

/**
 * The config for commands that talk to a running master: parsed and validated, but without
 * checking service files (a master already running does not need them to be present).
 */
export function loadForControl(options: CommonOptions): { config: HostConfig; socket: string } {
  const config = loadHostConfig(options.config, { checkFiles: false });
  return { config, socket: controlSocketPath(config.pidFile) };
}

/**
 * Options shared by every `rpc` command, and loading the config they point at.
 */
import fs from 'node:fs';
import path from 'node:path';
import { Command } from 'commander';
import { DEFAULT_CONFIG_FILE, type HostConfig, loadHostConfig } from '../config/config.js';
import { controlSocketPath } from '../master/control.js';

/** Options every command accepts. */
export interface CommonOptions {
  /** Config file. @default the nearest rpc.config.json at or above the working directory */
  config: string;
}

/**
 * A subcommand with `--config/-c PATH` already declared; without it, the command uses the
 * nearest `rpc.config.json` in the working directory or a parent (as git finds `.git`).
 */
export function command(name: string, description: string): Command {
  return new Command(name)
    .description(description)
    .option('-c, --config <path>', `host config file (default: the nearest ${DEFAULT_CONFIG_FILE} here or above)`)
    .hook('preAction', (cmd) => {
      if (cmd.getOptionValue('config') === undefined) cmd.setOptionValue('config', findConfigFile());
    });
}

/**
 * The nearest `rpc.config.json` at or above `dir`; `<dir>/rpc.config.json` when there is none
 * (loading it then reports the missing file).
 */
export function findConfigFile(dir = process.cwd()): string {
  for (let d = path.resolve(dir); ; d = path.dirname(d)) {
    const candidate = path.join(d, DEFAULT_CONFIG_FILE);
    if (fs.existsSync(candidate)) return candidate;
    if (path.dirname(d) === d) return path.resolve(dir, DEFAULT_CONFIG_FILE);
  }
}

/**
 * The config for commands that talk to a running master: parsed and validated, but without
 * checking service files (a master already running does not need them to be present).
 */
export function loadForControl(options: CommonOptions): { config: HostConfig; socket: string } {
  const config = loadHostConfig(options.config, { checkFiles: false });
  return { config, socket: controlSocketPath(config.pidFile) };
}

/**
 * `rpc describe [Service[.method]]`: what the IDL says a service offers: its methods, their
 * argument and result types and exceptions; for one method, also every type it uses.
 */
import { Command } from 'commander';
import { UnknownMethodError, UnknownServiceError } from '../../clients/errors.js';
import { didYouMean } from '../common/nearest-names.js';
import type { IdlModel } from '../idl/idl-model.js';
import type { ResolvedService } from '../idl/resolved.js';
import { describeJson, formatFunction, formatService, formatServices } from './describe-format.js';
import { collect, type IdlSourceOptions, loadIdlModel } from './idl-source.js';
import { findConfigFile } from './options.js';

/** The `describe` command. */
export function describeCommand(): Command {
  return new Command('describe')
    .description('show services, methods, argument and result types and exceptions from the IDL')
    .argument('[name]', 'Service or Service.method (default: every service)')
    .option('--idl <file>', 'IDL file, includes followed (repeatable; default: every idl/*.thrift of the project)', collect)
    .option('-I, --include <dir>', 'include folder searched after the including file\'s (repeatable)', collect)
    .option('--json', 'print JSON: {"services": [{"name", "functions": [...]}]}')
    .option('-c, --config <path>', 'host config whose folder holds idl/ (default: the nearest rpc.config.json)')
    .action((name: string | undefined, options: IdlSourceOptions & { json?: boolean }) => {
      const model = loadIdlModel({ ...options, config: options.config ?? findConfigFile() });
      process.stdout.write(describe(model, name, options.json ?? false));
    });
}

/**
 * The text (or JSON) `rpc describe` prints for `name`.
 * @throws UnknownServiceError / UnknownMethodError naming the nearest names
 */
export function describe(model: IdlModel, name: string | undefined, json: boolean): string {
  if (name === undefined) {
    const all = model.services();
    return json ? `${JSON.stringify(describeJson(all), null, 2)}\n` : formatServices(all);
  }
  const whole = model.findService(name);
  if (whole.length > 0) {
    return json ? `${JSON.stringify(describeJson(whole), null, 2)}\n` : whole.map((s) => formatService(s, true)).join('\n');
  }
  const dot = name.lastIndexOf('.');
  const service = dot > 0 ? findOne(model, name.slice(0, dot)) : findOne(model, name);
  const method = name.slice(dot + 1);
  const fn = service.functions.get(method);
  if (!fn) {
    const names = [...service.functions.keys()];
    throw new UnknownMethodError(`service ${service.name} has no method ${method}${didYouMean(method, names)} (methods: ${names.join(', ')})`);
  }
  return json ? `${JSON.stringify(describeJson([service], method), null, 2)}\n` : formatFunction(model, service, fn);
}

// --- internal ---

function findOne(model: IdlModel, name: string): ResolvedService {
  const found = model.findService(name);
  if (found.length >= 1) return found[0]!;
  const names = model.services().map((s) => s.name);
  throw new UnknownServiceError(`the IDL defines no service ${name}${didYouMean(name, names)} (services: ${names.join(', ') || 'none'})`);
}

/**
 * Every `detectron` sub-command, one module each. A module exports `register(program)`,
 * which adds its command (name, options, action) to the commander program.
 */
import type { Command } from 'commander';

export type Register = (program: Command) => void;

export const COMMANDS: ReadonlyArray<() => Register> = [
  () => (require('./convert_config') as { register: Register }).register,
  () => (require('./weights') as { register: Register }).register,
  () => (require('./env') as { register: Register }).register,
  () => (require('./reval') as { register: Register }).register,
  () => (require('./infer_simple') as { register: Register }).register,
  () => (require('./train_net') as { register: Register }).register,
  () => (require('./test_net') as { register: Register }).register,
];

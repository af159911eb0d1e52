/** keymend's policy evaluator: compile policies once, evaluate requests many times. Pure: no I/O. */
export { type CompiledPolicy, compilePolicy } from './compile';
export { OPERATORS } from './conditions';
export {
  createGrantRequest,
  encryptionContextKeys,
  kinesisKmsRequest,
  principalContext,
  takesEncryptionContext,
} from './context';
export { evaluate } from './evaluate';
export * from './types';

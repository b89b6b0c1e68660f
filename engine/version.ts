// The engine's version, recorded in every trace header.
export const ENGINE_VERSION = '0.1.0';

// An error in what the user gave (a file, an argument): printed as one line, exit code 2.

export class InputError extends Error {}

export const EXIT_BAD_INPUT = 2;

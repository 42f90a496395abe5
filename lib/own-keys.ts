/**
 * Lookups by a name that came from input (a colour, a channel, a step, a media type, a field).
 * On a plain object `table["constructor"]` or `table["__proto__"]` answers Object.prototype's own
 * members, which once turned a colourway of "constructor" into a 500. These helpers make "is it one
 * of ours?" mean "is it an own key", always.
 */

/** A frozen copy of `entries` with no prototype: only its own keys ever answer. */
export function nameTable<T extends object>(entries: T): Readonly<T> {
  return Object.freeze(Object.assign(Object.create(null) as T, entries));
}

/** `table[name]` when `name` is an own key of `table`, else undefined (whatever the table's prototype). */
export function ownValue<T extends object>(table: T, name: string): T[keyof T] | undefined {
  return Object.hasOwn(table, name) ? (table as Record<string, T[keyof T]>)[name] : undefined;
}

/** Whether `name` is an own key of `table`: narrows `name` to the table's keys. */
export const isOwnName = <T extends object>(table: T, name: string): name is Extract<keyof T, string> => Object.hasOwn(table, name);

/** The names a hostile client tries first: every member Object.prototype has, and `__proto__`. */
export const PROTOTYPE_NAMES: readonly string[] = [
  ...new Set(['__proto__', 'constructor', 'prototype', ...Object.getOwnPropertyNames(Object.prototype)]),
];

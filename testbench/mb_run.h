/*
** mb_run.h — `meterbench run` (the scenario runner's command line) and `meterbench
** ports` (serial ports through libserialport).
** SPDX-License-Identifier: MIT
*/
#ifndef MB_RUN_H
#define MB_RUN_H

/** meterbench run [PATHS...] [options]: argv[0] is "run". Exit status: 0 when every
 *  selected scenario passed (or was skipped), 1 otherwise or when none was selected,
 *  2 for a usage error, 130 when interrupted. */
int mb_cmd_run(int argc, char **argv);

/** meterbench ports [--json]: list serial ports. */
int mb_cmd_ports(int argc, char **argv);

#endif

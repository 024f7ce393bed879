/*
 * A minimal debugging shell for the demo-dev variant: reads a line, splits it
 * on blanks and runs it. No scripting, no expansion. Its presence is exactly
 * what the policy forbids in production variants; demo-dev allows it
 * explicitly.
 */
#include <stdio.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

int main(void)
{
	char line[1024];

	for (;;) {
		char *argv[64], *tok, *save = NULL;
		int n = 0;
		pid_t pid;

		fputs("debug# ", stdout);
		fflush(stdout);
		if (!fgets(line, sizeof(line), stdin))
			return 0;
		for (tok = strtok_r(line, " \t\n", &save); tok && n < 63;
		     tok = strtok_r(NULL, " \t\n", &save))
			argv[n++] = tok;
		argv[n] = NULL;
		if (n == 0)
			continue;
		if (strcmp(argv[0], "exit") == 0)
			return 0;
		pid = fork();
		if (pid == 0) {
			execvp(argv[0], argv);
			perror(argv[0]);
			_exit(127);
		}
		if (pid > 0)
			waitpid(pid, NULL, 0);
	}
}

/*
 * demo-app: the demo variant's one service. Reads its configuration and
 * reports it; a stand-in for the container runtime a real variant ships.
 */
#include <stdio.h>
#include <string.h>

int main(int argc, char **argv)
{
	const char *conf = argc > 1 ? argv[1] : "/etc/demo/app.conf";
	char line[256];
	FILE *f = fopen(conf, "r");

	if (!f) {
		perror(conf);
		return 1;
	}
	while (fgets(line, sizeof(line), f)) {
		if (line[0] == '#' || line[0] == '\n')
			continue;
		line[strcspn(line, "\n")] = '\0';
		printf("demo-app: %s\n", line);
	}
	fclose(f);
	return 0;
}

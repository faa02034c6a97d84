#include <systemd/sd-daemon.h>

#include "sdglue.h"

void
sdglue_notify(const char *state)
{
	sd_notify(0, state);
}

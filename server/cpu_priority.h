// The CPU priority of the threads that serve people rather than venues: the console's and the admin
// endpoint's HTTP threads and the console's password checks. On two cores a burst of their work (a
// dashboard's reports turned into JSON, an argon2id sign-in) would otherwise sit on a core for
// milliseconds while a venue's answer waits behind it; at a high nice value the scheduler hands the
// core to the venues' threads (io, writer, projector) as soon as they wake, and these threads still
// get a share when the machine is saturated. Nice rather than SCHED_IDLE: a thread that is starved
// while holding a lock (the logger's, the allocator's) would stall whoever waits for it.
#pragma once

namespace refah::server {

// Lowers the calling thread's CPU priority to nice value `nice` (0..19; Linux sets it per thread).
// Never raised back (that would need CAP_SYS_NICE). False if the kernel refused.
bool lower_this_thread(int nice);

}  // namespace refah::server

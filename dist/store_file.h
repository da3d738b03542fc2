// Small values shared through the rendezvous directory (EMBER_STORE), for engines that bootstrap
// from one rank's bytes: NCCL's unique id is made by rank 0 and read by every other rank.
//
// publish() writes atomically (a temporary file renamed into place), so a reader sees all of the
// value or none of it. await() polls until the file holds exactly `size` bytes; it throws a
// PeerError after `timeout` naming the file, what it expected and what it found there. Each launch
// attempt meets in a fresh store directory (ember launch), so a value never outlives its attempt.
#pragma once

#include <chrono>
#include <string>

namespace ember::dist {

void publish(const std::string& path, const std::string& bytes);
// `what` names the value in the error ("NCCL's unique id from rank 0").
std::string await(const std::string& path, size_t size, std::chrono::milliseconds timeout, const std::string& what);

}  // namespace ember::dist

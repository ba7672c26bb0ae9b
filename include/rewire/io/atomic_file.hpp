// rewire — files written whole or not at all: under a unique temporary name in the target's folder,
// flushed to disk, then renamed onto the target (rename within one file system replaces it atomically).
#pragma once

#include <functional>
#include <string>

namespace rewire {

/// A file being written under a unique temporary name beside `target` (`<target>.<random>.part`),
/// moved onto the target by commit().
///
/// The constructor creates the temporary, empty, with the permissions of any new file (0666 less the
/// umask); a writer opens it by name (temporary()), fills and closes it, then calls commit(). An
/// AtomicFile destroyed before a successful commit() removes its temporary, so a failure midway leaves
/// neither the temporary nor a partial target, and an existing target is left as it was. Several
/// writers of the same target never share a temporary; the last to commit wins.
class AtomicFile {
public:
    /// Throws IoError naming `target` when the temporary cannot be created (no such folder, no
    /// permission).
    explicit AtomicFile(std::string target);
    ~AtomicFile();
    AtomicFile(const AtomicFile&) = delete;
    AtomicFile& operator=(const AtomicFile&) = delete;

    const std::string& target() const { return target_; }
    /// The temporary's path; empty once committed.
    const std::string& temporary() const { return temporary_; }

    /// Flushes the temporary to disk, renames it onto the target and flushes the folder's entry. Throws
    /// IoError naming the target on failure (the temporary is then removed).
    void commit();

private:
    void discard() noexcept;

    std::string target_;
    std::string temporary_;  // empty when there is none (committed or removed)
};

/// Writes `target` whole: `write(temporary)` creates the content under the temporary name (truncating
/// the empty file there), then it is committed. On any exception from `write` or the commit the
/// temporary is removed and the exception propagates with its type.
void write_atomically(const std::string& target,
                      const std::function<void(const std::string& temporary)>& write);

}  // namespace rewire

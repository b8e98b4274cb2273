using System.Diagnostics;
using System.Globalization;

namespace RactoGateway.Redis.Cli.Hosting;

/// <summary>
/// The embedded server's hold on a data directory: an exclusive lock on <c>chatmem.lock</c> (FileShare.None is an flock
/// on Unix) and, beside it, <c>chatmem.lock.holder</c> naming the holder and when it took the lock
/// ("pid 1234 (chat) since 1733450000000", Unix ms), so that a chatmem waiting for the lock can say what it waits for and
/// for how long it has been held. The name lives in a file of its own because the holder's flock keeps every other
/// process from opening the lock file, even to read it.
/// </summary>
internal sealed class DataLock : IDisposable
{
    private const string LockFile = "chatmem.lock";
    private const string HolderFile = "chatmem.lock.holder";

    /// <summary>How long a waiting chatmem stays silent before it says what it waits for.</summary>
    private static readonly TimeSpan QuietWait = TimeSpan.FromSeconds(1);

    /// <summary>How often a waiting chatmem tries the lock again (and asks <c>stopWaiting</c>).</summary>
    private static readonly TimeSpan Retry = TimeSpan.FromMilliseconds(50);

    private readonly FileStream _lock;
    private readonly string _holderPath;

    private DataLock(FileStream dataLock, string holderPath)
    {
        _lock = dataLock;
        _holderPath = holderPath;
    }

    /// <summary>Takes the lock on <paramref name="dataDir"/>, waiting up to <paramref name="timeout"/> for its holder; after
    /// about a second of waiting, one line on stderr names the holder. Between tries, <paramref name="stopWaiting"/> (when
    /// given) is asked whether to give up waiting (a <c>chatmem serve</c> took the directory and answers): then
    /// <see langword="null"/> is returned.</summary>
    /// <exception cref="DataLockTimeoutException">Another chatmem held it for all of <paramref name="timeout"/>.</exception>
    /// <exception cref="IOException">It cannot be opened.</exception>
    public static DataLock? Acquire(string dataDir, string verb, TimeSpan timeout, Func<bool>? stopWaiting = null)
    {
        var path = Path.Combine(dataDir, LockFile);
        var holderPath = Path.Combine(dataDir, HolderFile);
        var waited = Stopwatch.StartNew();
        var told = false;
        while (true)
        {
            try
            {
                var stream = new FileStream(path, FileMode.OpenOrCreate, FileAccess.ReadWrite, FileShare.None);
                WriteHolder(holderPath, verb);
                return new DataLock(stream, holderPath);
            }
            catch (IOException ex) when (IsHeldElsewhere(ex))
            {
                if (stopWaiting?.Invoke() == true)
                {
                    return null;
                }

                var seconds = Seconds(timeout);
                if (waited.Elapsed >= timeout)
                {
                    var (holder, since) = Holder(holderPath);
                    var held = since is { } start ? DateTimeOffset.UtcNow - start : waited.Elapsed;
                    throw new DataLockTimeoutException(
                        $"{holder} has held it for {Seconds(held)} s{(since is null ? " or more" : "")}; waited {seconds} s " +
                        $"(--lock-timeout or {EmbeddedGarnet.LockTimeoutVariable} waits longer; `chatmem serve` lets commands run at once)", ex);
                }

                if (!told && waited.Elapsed >= QuietWait)
                {
                    Console.Error.WriteLine(
                        $"chatmem: waiting up to {seconds} s for {Holder(holderPath).Name} to release {dataDir} " +
                        $"(--lock-timeout or {EmbeddedGarnet.LockTimeoutVariable} sets the limit; `chatmem serve` lets commands run at once)");
                    told = true;
                }

                Thread.Sleep(Retry);
            }
        }
    }

    /// <summary>Forgets the holder's name, then releases the lock (so that no later holder's name is ever deleted).</summary>
    public void Dispose()
    {
        try
        {
            File.Delete(_holderPath);
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
        }

        _lock.Dispose();
    }

    /// <summary>Writes "pid N (verb) since MS" atomically (a whole line or the previous one, never half).</summary>
    private static void WriteHolder(string holderPath, string verb)
    {
        var temporary = $"{holderPath}.{Environment.ProcessId}";
        try
        {
            File.WriteAllText(temporary, string.Create(CultureInfo.InvariantCulture,
                $"pid {Environment.ProcessId} ({verb}) since {DateTimeOffset.UtcNow.ToUnixTimeMilliseconds()}\n"));
            File.Move(temporary, holderPath, overwrite: true);
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            // The name is a courtesy to a waiting chatmem; the lock is what matters.
        }
    }

    /// <summary>"another chatmem, pid 1234 (chat)," as the holder wrote it, or "another chatmem process"; and when it
    /// took the lock, when it said (holders before this version did not).</summary>
    private static (string Name, DateTimeOffset? Since) Holder(string holderPath)
    {
        try
        {
            var line = File.ReadAllText(holderPath).Trim();
            if (line.StartsWith("pid ", StringComparison.Ordinal) && !line.Contains('\n', StringComparison.Ordinal))
            {
                var at = line.LastIndexOf(" since ", StringComparison.Ordinal);
                if (at > 0 && long.TryParse(line.AsSpan(at + 7), NumberStyles.None, CultureInfo.InvariantCulture, out var ms))
                {
                    return ($"another chatmem, {line[..at]},", DateTimeOffset.FromUnixTimeMilliseconds(ms));
                }

                return ($"another chatmem, {line},", null);
            }
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
        }

        return ("another chatmem process", null);
    }

    /// <summary>Seconds for a message: whole below a minute's precision needs ("2", "0.5", "3725.1").</summary>
    private static string Seconds(TimeSpan span) => Math.Max(0, span.TotalSeconds).ToString("0.#", CultureInfo.InvariantCulture);

    // EWOULDBLOCK from flock (11 on Linux, 35 on macOS); sharing or lock violation on Windows.
    private static bool IsHeldElsewhere(IOException ex) => ex.HResult is 11 or 35 or unchecked((int)0x80070020) or unchecked((int)0x80070021);
}

/// <summary>Another chatmem held the data directory for longer than the lock timeout (exit code
/// <see cref="ExitCodes.Busy"/>).</summary>
internal sealed class DataLockTimeoutException(string message, Exception inner) : IOException(message, inner);

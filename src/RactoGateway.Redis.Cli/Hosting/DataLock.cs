using System.Diagnostics;
using System.Globalization;

namespace RactoGateway.Redis.Cli.Hosting;

/// <summary>
/// The embedded server's hold on a data directory: an exclusive lock on <c>chatmem.lock</c> (FileShare.None is an flock
/// on Unix) and, beside it, <c>chatmem.lock.holder</c> naming the holder ("pid 1234 (chat)"), so that a chatmem waiting
/// for the lock can say what it waits for. The name lives in a file of its own because the holder's flock keeps every
/// other process from opening the lock file, even to read it.
/// </summary>
internal sealed class DataLock : IDisposable
{
    private const string LockFile = "chatmem.lock";
    private const string HolderFile = "chatmem.lock.holder";

    /// <summary>How long a waiting chatmem stays silent before it says what it waits for.</summary>
    private static readonly TimeSpan QuietWait = TimeSpan.FromSeconds(1);

    private readonly FileStream _lock;
    private readonly string _holderPath;

    private DataLock(FileStream dataLock, string holderPath)
    {
        _lock = dataLock;
        _holderPath = holderPath;
    }

    /// <summary>Takes the lock on <paramref name="dataDir"/>, waiting up to <paramref name="timeout"/> for its holder; after
    /// about a second of waiting, one line on stderr names the holder.</summary>
    /// <exception cref="IOException">Another chatmem held it for all of <paramref name="timeout"/>, or it cannot be opened.</exception>
    public static DataLock Acquire(string dataDir, string verb, TimeSpan timeout)
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
                var seconds = timeout.TotalSeconds.ToString("0.###", CultureInfo.InvariantCulture);
                if (waited.Elapsed >= timeout)
                {
                    throw new IOException(
                        $"{Holder(holderPath)} has held it for {seconds} s (set {EmbeddedGarnet.LockTimeoutVariable} to wait longer; concurrent use belongs on --redis)", ex);
                }

                if (!told && waited.Elapsed >= QuietWait)
                {
                    Console.Error.WriteLine(
                        $"chatmem: waiting up to {seconds} s for {Holder(holderPath)} to release {dataDir} " +
                        $"({EmbeddedGarnet.LockTimeoutVariable} sets the limit; concurrent use belongs on --redis)");
                    told = true;
                }

                Thread.Sleep(50);
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

    /// <summary>Writes "pid N (verb)" atomically (a whole line or the previous one, never half).</summary>
    private static void WriteHolder(string holderPath, string verb)
    {
        var temporary = $"{holderPath}.{Environment.ProcessId}";
        try
        {
            File.WriteAllText(temporary, string.Create(CultureInfo.InvariantCulture, $"pid {Environment.ProcessId} ({verb})\n"));
            File.Move(temporary, holderPath, overwrite: true);
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            // The name is a courtesy to a waiting chatmem; the lock is what matters.
        }
    }

    /// <summary>"another chatmem, pid 1234 (chat)," as the holder wrote it, or "another chatmem process".</summary>
    private static string Holder(string holderPath)
    {
        try
        {
            var line = File.ReadAllText(holderPath).Trim();
            if (line.StartsWith("pid ", StringComparison.Ordinal) && !line.Contains('\n', StringComparison.Ordinal))
            {
                return $"another chatmem, {line},";
            }
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
        }

        return "another chatmem process";
    }

    // EWOULDBLOCK from flock (11 on Linux, 35 on macOS); sharing or lock violation on Windows.
    private static bool IsHeldElsewhere(IOException ex) => ex.HResult is 11 or 35 or unchecked((int)0x80070020) or unchecked((int)0x80070021);
}

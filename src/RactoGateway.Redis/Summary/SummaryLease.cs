using System.Globalization;
using RactoGateway.Redis.Recall;
using StackExchange.Redis;

namespace RactoGateway.Redis;

/// <summary>
/// Which summarizer works on a conversation now: a string at <see cref="RecallKeys.Lease"/> holding the holder's random
/// token, set only when absent and with an expiry (<c>SET NX PX</c>), renewed while the work goes on and deleted by its
/// holder only (compare-and-delete). It saves the work of replicas that would race for the same pending messages (the
/// embedding, the model call); exactly-once storage does not rest on it but on <c>summary.lua</c>'s compare-and-set, so
/// a lease that expires under a stalled holder costs at worst some duplicate work, never a wrong summary.
/// </summary>
internal sealed class SummaryLease
{
    /// <summary>How long a lease lives unless renewed: a holder that dies frees the conversation after this.</summary>
    public static readonly TimeSpan Duration = TimeSpan.FromSeconds(10);

    private const string RenewScript = "if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('PEXPIRE', KEYS[1], ARGV[2]) end return 0";
    private const string ReleaseScript = "if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end return 0";

    private static readonly TimeSpan RenewEvery = Duration / 3;
    private static readonly RedisValue DurationMs = ((long)Duration.TotalMilliseconds).ToString(CultureInfo.InvariantCulture);

    private readonly RecallKeys _keys;
    private volatile bool _refused;

    public SummaryLease(string keyPrefix) => _keys = new RecallKeys(keyPrefix);

    /// <summary>Whether the server refused the lease's commands (an ACL user limited to the conversation keys): then
    /// summarizers work without it.</summary>
    public bool Refused => _refused;

    /// <summary>Takes the lease of <paramref name="conversationId"/>, or returns <see langword="null"/> when another holder
    /// has it. With the server refusing the lease (see <see cref="Refused"/>), returns a holder that holds nothing.</summary>
    public async Task<Held?> TryTakeAsync(IDatabaseAsync database, string conversationId)
    {
        if (_refused)
        {
            return Held.None;
        }

        var key = _keys.Lease(conversationId);
        var token = (RedisValue)Guid.NewGuid().ToString("N");
        try
        {
            return await database.StringSetAsync(key, token, Duration, When.NotExists).ConfigureAwait(false) ? new Held(database, key, token) : null;
        }
        catch (RedisServerException error) when (error.Message.StartsWith("NOPERM", StringComparison.Ordinal))
        {
            _refused = true;
            return Held.None;
        }
    }

    /// <summary>A lease taken: renewed in the background until disposed, then released.</summary>
    internal sealed class Held : IAsyncDisposable
    {
        public static readonly Held None = new(null, default, default);

        private readonly IDatabaseAsync? _database;
        private readonly RedisKey _key;
        private readonly RedisValue _token;
        private readonly CancellationTokenSource? _stop;
        private readonly Task _renewing;

        public Held(IDatabaseAsync? database, RedisKey key, RedisValue token)
        {
            _database = database;
            _key = key;
            _token = token;
            if (database is null)
            {
                _renewing = Task.CompletedTask;
                return;
            }

            _stop = new CancellationTokenSource();
            _renewing = RenewAsync(_stop.Token);
        }

        public async ValueTask DisposeAsync()
        {
            if (_database is null)
            {
                return;
            }

            await _stop!.CancelAsync().ConfigureAwait(false);
            await _renewing.ConfigureAwait(false);
            _stop.Dispose();
            try
            {
                await _database.ScriptEvaluateAsync(ReleaseScript, [_key], [_token]).ConfigureAwait(false);
            }
            catch (Exception error) when (error is RedisException or TimeoutException)
            {
                // Not released: it expires on its own within Duration.
            }
        }

        private async Task RenewAsync(CancellationToken stop)
        {
            try
            {
                while (true)
                {
                    await Task.Delay(RenewEvery, stop).ConfigureAwait(false);
                    if ((long)await _database!.ScriptEvaluateAsync(RenewScript, [_key], [_token, DurationMs]).ConfigureAwait(false) == 0)
                    {
                        return; // lost (expired and taken): the compare-and-set still keeps the summary right
                    }
                }
            }
            catch (OperationCanceledException) when (stop.IsCancellationRequested)
            {
            }
            catch (Exception error) when (error is RedisException or TimeoutException)
            {
                // Renewal failed: the lease may expire early; the work goes on under the compare-and-set.
            }
        }
    }
}

using StackExchange.Redis;

namespace RactoGateway.Redis.Tests;

/// <summary>A memory opens its connections on its first call, never in its constructor; concurrent first calls share
/// one open, and a failed open is tried again by the next call. (No socket here: the URL's memory is never called, and
/// the factory's fail without one; the socket side is LazyConnectTests in the server tier.)</summary>
public class LazyConnectionTests
{
    [Fact]
    public async Task Constructing_from_a_url_or_options_opens_nothing()
    {
        // What "returns in under 50 ms" rests on: the constructor does no I/O at all, whatever the clock says.
        await using var fromUrl = new RedisChatMemory("redis://127.0.0.1:1");
        await using var fromOptions = new RedisChatMemory(ConfigurationOptions.Parse("127.0.0.1:1"), new ChatMemoryConfig { Connections = 3 });

        Assert.False(fromUrl.Connections.IsOpen);
        Assert.False(fromOptions.Connections.IsOpen);
        Assert.Contains("endpoints=127.0.0.1:1", fromUrl.ToString());
        Assert.Contains("connections=3", fromOptions.ToString());
    }

    [Fact]
    public async Task Concurrent_first_calls_share_one_open_and_its_failure_and_the_next_call_opens_again()
    {
        var calls = 0;
        var release = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var refused = new RedisConnectionException(ConnectionFailureType.UnableToConnect, CommandFlags.None, "refused");
        await using var memory = new RedisChatMemory(
            async () =>
            {
                Interlocked.Increment(ref calls);
                await release.Task;
                throw refused;
            },
            new ChatMemoryConfig { Connections = 2 });
        Assert.Equal(0, calls);

        var first = Enumerable.Range(0, 32).Select(i => i % 2 == 0 ? (Task)memory.CountAsync("c" + i) : memory.GetHistoryAsync("c" + i)).ToArray();
        release.SetResult();
        foreach (var call in first)
        {
            Assert.Same(refused, await Assert.ThrowsAsync<RedisConnectionException>(() => call));
        }

        Assert.Equal(1, calls);
        Assert.Same(refused, await Assert.ThrowsAsync<RedisConnectionException>(() => memory.AppendAsync("c", "user", "hi")));
        Assert.Same(refused, Assert.Throws<RedisConnectionException>(() => memory.Count("c")));
        Assert.Equal(3, calls);
        Assert.False(memory.Connections.IsOpen);
    }

    [Fact]
    public async Task Arguments_are_checked_before_any_open_and_a_disposed_memory_opens_nothing()
    {
        var calls = 0;
        var memory = new RedisChatMemory(() =>
        {
            Interlocked.Increment(ref calls);
            return Task.FromException<IConnectionMultiplexer>(new RedisConnectionException(ConnectionFailureType.UnableToConnect, CommandFlags.None, "down"));
        });

        await Assert.ThrowsAsync<ArgumentException>(() => memory.AppendAsync(" ", "user", "hi"));
        await memory.DisposeAsync();
        await Assert.ThrowsAsync<ObjectDisposedException>(() => memory.CountAsync("c"));
        Assert.Throws<ObjectDisposedException>(() => memory.Count("c"));
        Assert.Equal(0, calls);
        Assert.Throws<ArgumentNullException>(() => new RedisChatMemory((Func<Task<IConnectionMultiplexer>>)null!));
    }
}

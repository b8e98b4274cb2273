using System.Net;
using System.Net.Sockets;
using System.Reflection;
using StackExchange.Redis;
using Xunit.Abstractions;
using Xunit.Sdk;

namespace RactoGateway.Redis.Tests;

/// <summary>
/// The memory's two transports, the pooled auto-pipelined one and StackExchange.Redis's plain calls, do the same thing
/// on every server: the core operations, async and sync, here; more classes run on the plain one in scripts/test.sh's
/// second pass (CHATMEM_TEST_TRANSPORT=plain).
/// </summary>
public class TransportTests
{
    [Theory, AllServersBothTransports]
    public async Task The_core_operations_do_the_same_on_either_transport(string serverName, bool plain)
    {
        await using var bed = await TestBed.CreateAsync(serverName, c =>
        {
            c.MaxTurns = 2;
            c.PlainTransport = plain;
        });
        var memory = bed.Memory;

        await memory.AppendAsync("c", "user", "u1");
        memory.Append("c", new ChatMemoryMessage("assistant", "a1") { MessageId = "a1" });
        await memory.AppendTurnAsync("c", "u2", "a2");
        memory.AppendTurn("c", new("user", "u3"), new("assistant", "a3") { MessageId = "a3" });
        await memory.AppendManyAsync("c", [new ChatMemoryMessage("user", "u4"), new ChatMemoryMessage("assistant", "a3") { MessageId = "a3" }]);
        memory.AppendMany("c", [new ChatMemoryMessage("assistant", "a4")]);
        await bed.Raw.ListRightPushAsync(bed.Key("c"), "{not json");

        Assert.Equal(!plain && serverName != "cluster", memory.Connections.All[0].UsesRespReplies);
        string[] expected = ["u3", "a3", "u4", "a4"];
        Assert.Equal(expected, (await memory.GetHistoryAsync("c")).Select(m => m.Content));
        Assert.Equal(expected, memory.GetHistory("c").Select(m => m.Content));
        Assert.Equal(5, await memory.CountAsync("c"));
        Assert.Equal(5, memory.Count("c"));
        Assert.Contains(bed.Logger.Entries, e => e.Id.Name == "CorruptElementsSkipped");

        await memory.ClearAsync("c");
        Assert.Equal(0, memory.Count("c"));
        memory.Append("c", "user", "again");
        memory.Clear("c");
        Assert.Empty(await memory.GetHistoryAsync("c"));
    }

    /// <summary>Every server of <see cref="TestServers.Names"/>, on the pooled transport and on the plain one.</summary>
    [AttributeUsage(AttributeTargets.Method)]
    private sealed class AllServersBothTransportsAttribute : DataAttribute
    {
        public override IEnumerable<object[]> GetData(MethodInfo testMethod) =>
            TestServers.Names.SelectMany(n => new[] { new object[] { n, false }, [n, true] });
    }
}

/// <summary>The socket side of opening on the first call (the unit tier's LazyConnectionTests has the rest).</summary>
public class LazyConnectTests(ITestOutputHelper output)
{
    [Fact]
    public async Task The_constructor_opens_no_socket_the_first_call_does_and_disposing_meanwhile_closes_it()
    {
        // A listener that accepts and never answers: StackExchange.Redis's handshake waits on it until connectTimeout.
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        var port = ((IPEndPoint)listener.LocalEndpoint).Port;
        var memory = new RedisChatMemory($"127.0.0.1:{port},connectTimeout=3000,connectRetry=1");

        // No wall clock: nothing may reach the listener, however long one waits (a constructor that connected, even in
        // the background, would have by now).
        await Task.Delay(200);
        Assert.False(listener.Pending());
        Assert.False(memory.Connections.IsOpen);

        var call = memory.CountAsync("c");
        using var accepted = await listener.AcceptSocketAsync().WaitAsync(TimeSpan.FromSeconds(30));
        await memory.DisposeAsync();

        // The open under way ends (its handshake fails), finds the memory disposed or failed, and closes its socket.
        await Assert.ThrowsAnyAsync<Exception>(() => call);
        var buffer = new byte[64];
        var closed = await Task.Run(() =>
        {
            accepted.ReceiveTimeout = 30_000;
            try
            {
                while (accepted.Receive(buffer) > 0)
                {
                }

                return true;
            }
            catch (SocketException ex) when (ex.SocketErrorCode == SocketError.ConnectionReset)
            {
                return true;
            }
        });
        Assert.True(closed);
        Assert.False(memory.Connections.IsOpen);
    }

    [Fact]
    public async Task A_dead_server_fails_the_first_call_with_RedisConnectionException_not_after_the_command_timeout()
    {
        // The command timeouts are a minute: a first call that waited for its command to time out (in the multiplexer's
        // backlog, as when the memory kept a multiplexer that never connected) would take that long. The open's own
        // failure comes within one connect attempt (connectTimeout; on a refused port usually milliseconds, but
        // StackExchange.Redis sometimes notices the refusal only at connectTimeout on a loaded machine), so 30 s only
        // bounds a loaded machine. (connectTimeout is set: unset, StackExchange.Redis makes it the larger syncTimeout.)
        await using var memory = new RedisChatMemory("127.0.0.1:1,connectTimeout=5000,syncTimeout=60000,asyncTimeout=60000");
        var clock = System.Diagnostics.Stopwatch.StartNew();
        await Assert.ThrowsAsync<RedisConnectionException>(() => memory.CountAsync("c"));
        Assert.Throws<RedisConnectionException>(() => memory.GetHistory("c"));
        Assert.True(clock.Elapsed < TimeSpan.FromSeconds(30), $"took {clock.Elapsed}");
        var line = $"a dead server's first calls (async, then sync) failed in {clock.ElapsedMilliseconds} ms";
        output.WriteLine(line);
        if (Environment.GetEnvironmentVariable("CHATMEM_TEST_REPORT") is { Length: > 0 } report)
        {
            await File.AppendAllTextAsync(report, line + Environment.NewLine);
        }
    }
}

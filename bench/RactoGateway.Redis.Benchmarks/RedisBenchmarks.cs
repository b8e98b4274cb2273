using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using BenchmarkDotNet.Attributes;
using Microsoft.Extensions.AI;
using RactoGateway.Redis.Scripts;
using RactoGateway.Redis.Wire;
using StackExchange.Redis;

namespace RactoGateway.Redis.Benchmarks;

/// <summary>
/// One append and one 40-message read against a local redis-server: one round trip each, no concurrency. The Raw*
/// benchmarks are the same commands on StackExchange.Redis directly (the append as a plain client writes it: arrays and
/// an encoded element per call), so that allocation can be compared with the client we build on.
/// </summary>
[MemoryDiagnoser]
public class RedisBenchmarks
{
    private readonly string _content = new('x', 200);
    private Process? _server;
    private RedisChatMemory _memory = null!;
    private ConnectionMultiplexer _raw = null!;
    private IDatabase _database = null!;
    private RedisKey _fullKey;
    private RedisKey _appendKey;
    private AppendArguments _arguments = null!;
    private readonly CancellationTokenSource _request = new();

    [GlobalSetup]
    public void Setup()
    {
        var endpoint = Environment.GetEnvironmentVariable("CHATMEM_BENCH_REDIS") ?? StartServer();
        var config = new ChatMemoryConfig { MaxTurns = 20, Ttl = TimeSpan.FromMinutes(30), KeyPrefix = "bench:micro" };
        _memory = new RedisChatMemory(endpoint, config);
        for (var i = 0; i < 40; i++)
        {
            _memory.Append("full", i % 2 == 0 ? ChatRoles.User : ChatRoles.Assistant, _content);
        }

        _raw = ConnectionMultiplexer.Connect(endpoint);
        _database = _raw.GetDatabase();
        _fullKey = _memory.GetKey("full");
        _appendKey = _memory.GetKey("raw-appended");
        _arguments = new AppendArguments(config);
    }

    [GlobalCleanup]
    public void Cleanup()
    {
        _memory.Dispose();
        _raw.Dispose();
        if (_server is { } server)
        {
            server.Kill();
            server.WaitForExit();
            server.Dispose();
        }
    }

    [Benchmark]
    public Task Append() => _memory.AppendAsync("appended", ChatRoles.User, _content);

    /// <summary>As a service calls it: with a token that can be cancelled (a request's), which the wait must honour.</summary>
    [Benchmark]
    public Task AppendCancellable() => _memory.AppendAsync("appended", ChatRoles.User, _content, _request.Token);

    [Benchmark]
    public Task AppendTurn() => _memory.AppendTurnAsync("turns", _content, _content);

    [Benchmark]
    public Task<IReadOnlyList<ChatMemoryMessage>> GetHistory40() => _memory.GetHistoryAsync("full");

    [Benchmark]
    public Task<IReadOnlyList<ChatMemoryMessage>> GetHistory40Cancellable() => _memory.GetHistoryAsync("full", _request.Token);

    [Benchmark]
    public Task<IReadOnlyList<ChatMessage>> GetChatMessages40() => _memory.GetChatMessagesAsync("full");

    [Benchmark]
    public Task<RedisResult> RawEvalSha() =>
        _database.ScriptEvaluateAsync(ChatMemoryScripts.Append.Sha1, [_appendKey], _arguments.Append([new ChatMemoryMessage(ChatRoles.User, _content)]));

    [Benchmark]
    public Task<RedisValue[]> RawListRange40() => _database.ListRangeAsync(_fullKey);

    [Benchmark]
    public async Task<int> RawListRange40Decoded() => MessageCodec.DecodeAll(await _database.ListRangeAsync(_fullKey), out _).Count;

    private string StartServer()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        var port = ((IPEndPoint)listener.LocalEndpoint).Port;
        listener.Stop();
        _server = Process.Start(new ProcessStartInfo("redis-server", $"--port {port} --bind 127.0.0.1 --save \"\" --appendonly no")
        {
            RedirectStandardOutput = true,
            UseShellExecute = false,
        });
        for (var attempt = 0; attempt < 100; attempt++)
        {
            try
            {
                using var probe = new TcpClient();
                probe.Connect(IPAddress.Loopback, port);
                break;
            }
            catch (SocketException)
            {
                Thread.Sleep(50);
            }
        }

        return $"127.0.0.1:{port}";
    }
}

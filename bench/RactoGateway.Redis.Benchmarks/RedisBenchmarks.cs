using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using BenchmarkDotNet.Attributes;

namespace RactoGateway.Redis.Benchmarks;

/// <summary>One append and one 40-message read against a local redis-server: one round trip each, no concurrency.</summary>
[MemoryDiagnoser]
public class RedisBenchmarks
{
    private readonly string _content = new('x', 200);
    private Process? _server;
    private RedisChatMemory _memory = null!;

    [GlobalSetup]
    public void Setup()
    {
        var endpoint = Environment.GetEnvironmentVariable("CHATMEM_BENCH_REDIS") ?? StartServer();
        _memory = new RedisChatMemory(endpoint, new ChatMemoryConfig { MaxTurns = 20, Ttl = TimeSpan.FromMinutes(30), KeyPrefix = "bench:micro" });
        for (var i = 0; i < 40; i++)
        {
            _memory.Append("full", i % 2 == 0 ? ChatRoles.User : ChatRoles.Assistant, _content);
        }
    }

    [GlobalCleanup]
    public void Cleanup()
    {
        _memory.Dispose();
        if (_server is { } server)
        {
            server.Kill();
            server.WaitForExit();
            server.Dispose();
        }
    }

    [Benchmark]
    public Task Append() => _memory.AppendAsync("appended", ChatRoles.User, _content);

    [Benchmark]
    public Task<IReadOnlyList<ChatMemoryMessage>> GetHistory40() => _memory.GetHistoryAsync("full");

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

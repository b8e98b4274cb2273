using BenchmarkDotNet.Attributes;
using RactoGateway.Redis;
using RactoGateway.Redis.Wire;
using StackExchange.Redis;

namespace RactoGateway.Redis.Benchmarks;

/// <summary>The wire format's cost: encoding and decoding one 200-byte message.</summary>
[MemoryDiagnoser]
public class CodecBenchmarks
{
    private readonly ChatMemoryMessage _message = new(ChatRoles.User, new string('x', 200));
    private RedisValue _element;

    [GlobalSetup]
    public void Setup() => _element = MessageCodec.Encode(_message.Role, _message.Content);

    [Benchmark]
    public byte[] Encode() => MessageCodec.Encode(_message.Role, _message.Content);

    [Benchmark]
    public ChatMemoryMessage? Decode() => MessageCodec.TryDecode(_element);
}

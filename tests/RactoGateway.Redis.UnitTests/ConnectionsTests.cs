namespace RactoGateway.Redis.Tests;

/// <summary>ChatMemoryConfig.Connections: its default and range, checked before connecting (the multiplexers themselves
/// are in the integration tier's ConnectionsTests).</summary>
public class ConnectionsTests
{
    [Fact]
    public void One_connection_is_the_default()
    {
        Assert.Equal(1, new ChatMemoryConfig().Connections);
    }

    [Theory]
    [InlineData(0)]
    [InlineData(-1)]
    [InlineData(ChatMemoryConfig.MaxConnections + 1)]
    public void A_connection_count_out_of_range_is_refused_before_connecting(int connections)
    {
        var error = Assert.Throws<ArgumentException>(() => new RedisChatMemory("127.0.0.1:1", new ChatMemoryConfig { Connections = connections }));
        Assert.Equal("config", error.ParamName);
        Assert.Contains("Connections", error.Message);
    }
}

namespace RactoGateway.Redis.Tests;

/// <summary>The expiry is set on append, slides with every append, and an expired conversation reads as empty.</summary>
public class TtlTests
{
    [Theory, AllServers]
    public async Task Without_ttl_the_conversation_never_expires(string server)
    {
        await using var bed = await TestBed.CreateAsync(server);
        await bed.Memory.AppendAsync("c", "user", "hi");

        Assert.Null(await bed.Raw.KeyTimeToLiveAsync(bed.Key("c")));
    }

    [Theory, AllServers]
    public async Task Ttl_is_set_on_append_as_configured(string server)
    {
        await using var bed = await TestBed.CreateAsync(server, c => c.Ttl = TimeSpan.FromMinutes(30));
        await bed.Memory.AppendAsync("c", "user", "hi");

        var ttl = await bed.Raw.KeyTimeToLiveAsync(bed.Key("c"));

        Assert.NotNull(ttl);
        Assert.InRange(ttl.Value, TimeSpan.FromMinutes(29), TimeSpan.FromMinutes(30));
    }

    [Theory, AllServers]
    public async Task Every_append_restarts_the_ttl(string server)
    {
        await using var bed = await TestBed.CreateAsync(server, c => c.Ttl = TimeSpan.FromSeconds(1800));
        await bed.Memory.AppendAsync("c", "user", "hi");
        await bed.Raw.KeyExpireAsync(bed.Key("c"), TimeSpan.FromSeconds(5));

        await bed.Memory.AppendAsync("c", "assistant", "hello");

        var ttl = await bed.Raw.KeyTimeToLiveAsync(bed.Key("c"));
        Assert.InRange(ttl!.Value, TimeSpan.FromSeconds(1790), TimeSpan.FromSeconds(1800));
    }

    [Theory, AllServers]
    public async Task Fractional_seconds_are_kept_not_truncated(string server)
    {
        // The seed's int(ttl_seconds) turned 1.5 s into EXPIRE 1; we send milliseconds.
        await using var bed = await TestBed.CreateAsync(server, c => c.Ttl = TimeSpan.FromSeconds(90.5));
        await bed.Memory.AppendAsync("c", "user", "hi");

        var ttl = await bed.Raw.KeyTimeToLiveAsync(bed.Key("c"));

        Assert.InRange(ttl!.Value, TimeSpan.FromSeconds(90.1), TimeSpan.FromSeconds(90.5));
    }

    [Theory, AllServers]
    public async Task Expired_conversation_reads_empty_and_counts_zero(string server)
    {
        await using var bed = await TestBed.CreateAsync(server, c => c.Ttl = TimeSpan.FromSeconds(1));
        await bed.Memory.AppendAsync("c", "user", "hi");
        Assert.Equal(1, await bed.Memory.CountAsync("c"));

        var deadline = DateTime.UtcNow.AddSeconds(10);
        while (await bed.Memory.CountAsync("c") > 0 && DateTime.UtcNow < deadline)
        {
            await Task.Delay(200);
        }

        Assert.Equal(0, await bed.Memory.CountAsync("c"));
        Assert.Empty(await bed.Memory.GetHistoryAsync("c"));
    }
}

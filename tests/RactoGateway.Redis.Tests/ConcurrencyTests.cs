using System.Text.Json;

namespace RactoGateway.Redis.Tests;

/// <summary>Replicas appending at once: the window is exact and every element is whole.</summary>
public class ConcurrencyTests
{
    [Theory, AllServers]
    public async Task Two_replicas_with_32_tasks_each_leave_exactly_the_window_of_well_formed_elements(string server)
    {
        await using var bed = await TestBed.CreateAsync(server, c => c.MaxTurns = 10);
        await using var replicaA = bed.NewReplica();
        await using var replicaB = bed.NewReplica();
        const int PerTask = 20;

        var writers = Enumerable.Range(0, 64).Select(t => Task.Run(async () =>
        {
            var memory = t % 2 == 0 ? replicaA : replicaB;
            for (var i = 0; i < PerTask; i++)
            {
                await memory.AppendAsync("shared", i % 2 == 0 ? "user" : "assistant", $"task{t}-msg{i}-" + new string('x', t));
            }
        }));
        await Task.WhenAll(writers);

        var raw = await bed.Raw.ListRangeAsync(bed.Key("shared"));
        Assert.Equal(20, raw.Length);
        var contents = new HashSet<string>();
        foreach (var element in raw)
        {
            using var json = JsonDocument.Parse((byte[])element!);
            Assert.Equal(["role", "content"], json.RootElement.EnumerateObject().Select(p => p.Name));
            var content = json.RootElement.GetProperty("content").GetString()!;
            var parts = content.Split('-');
            var task = int.Parse(parts[0]["task".Length..]);
            Assert.Equal(new string('x', task), parts[2]);
            Assert.True(contents.Add(content), $"duplicate element {content}");
        }

        // Per writer, what survives is that writer's newest messages, in the order it wrote them.
        foreach (var group in contents.Select(c => c.Split('-')).GroupBy(p => p[0]))
        {
            var indexes = group.Select(p => int.Parse(p[1]["msg".Length..])).ToList();
            Assert.Equal(indexes.Order(), indexes);
            Assert.Equal(PerTask - 1, indexes[^1]);
        }
    }
}

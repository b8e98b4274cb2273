using System.Diagnostics;
using System.Globalization;
using System.Text.Json;
using Xunit.Abstractions;

namespace RactoGateway.Redis.Tests;

/// <summary>
/// Two OS processes (tests/RactoGateway.Load) with 64 tasks each append turns to 100 shared conversations: every
/// conversation ends with exactly min(window, appended) elements, each one well-formed, each writer's messages in order.
/// </summary>
[Trait("Category", "Faults")]
[Collection(FaultsCollection.Name)]
public class ManyProcessesTests(ITestOutputHelper output)
{
    private const int Processes = 2;
    private const int TasksPerProcess = 64;
    private const int TurnsPerTask = 50;
    private const int Conversations = 100;
    private const int MaxTurns = 10;

    [Theory]
    [InlineData("redis")]
    [InlineData("cluster")]
    public async Task Two_processes_with_64_tasks_each_leave_exact_well_formed_windows(string serverName)
    {
        var server = await TestServers.GetAsync(serverName);
        var prefix = TestServers.UniquePrefix();
        var clock = Stopwatch.StartNew();
        var results = await Task.WhenAll(Enumerable.Range(0, Processes).Select(p => RunChildAsync(server.ConnectionString, prefix, $"p{p}")));
        var seconds = clock.Elapsed.TotalSeconds;

        var acknowledged = results.Sum(r => r.Acknowledged);
        Assert.All(results, r => Assert.Equal(0, r.Failed));
        Assert.Equal(Processes * TasksPerProcess * TurnsPerTask * 2, acknowledged);

        await using var memory = new RedisChatMemory(server.ConnectionString, new ChatMemoryConfig { KeyPrefix = prefix, MaxTurns = MaxTurns });
        await using var raw = await StackExchange.Redis.ConnectionMultiplexer.ConnectAsync(server.ConnectionString);
        var window = MaxTurns * 2;
        var perConversation = acknowledged / Conversations;
        var elements = 0;
        for (var c = 0; c < Conversations; c++)
        {
            var id = $"conv-{c}";
            var stored = await raw.GetDatabase().ListRangeAsync(memory.GetKey(id));
            Assert.Equal(Math.Min(window, perConversation), stored.Length);
            Assert.Equal(stored.Length, (await memory.GetHistoryAsync(id)).Count); // nothing skipped as corrupt

            // Per writer (process, task), its messages appear in the order it appended them: Q n before A n before Q n+1.
            var lastByWriter = new Dictionary<string, int>();
            foreach (var element in stored)
            {
                using var json = JsonDocument.Parse((byte[])element!);
                Assert.Equal(["role", "content"], json.RootElement.EnumerateObject().Select(p => p.Name));
                var role = json.RootElement.GetProperty("role").GetString();
                var content = json.RootElement.GetProperty("content").GetString()!;
                Assert.Equal(role == "user" ? "Q" : role == "assistant" ? "A" : "?", content[..1]);
                var parts = content[2..].Split('-'); // p0-t12-n7
                var writer = parts[0] + "-" + parts[1];
                var step = (int.Parse(parts[2][1..], CultureInfo.InvariantCulture) * 2) + (role == "assistant" ? 1 : 0);
                Assert.True(!lastByWriter.TryGetValue(writer, out var last) || last < step, $"{content} is out of order in {id}");
                lastByWriter[writer] = step;
                elements++;
            }
        }

        output.WriteLine(
            $"many processes ({serverName}): {Processes} processes x {TasksPerProcess} tasks, {acknowledged} appends acknowledged in {seconds:F1} s " +
            $"({acknowledged / seconds:F0}/s incl. process start); {Conversations} conversations x {window} elements = {elements} found, all well-formed and in writer order");
    }

    private async Task<(int Acknowledged, int Failed)> RunChildAsync(string connection, string prefix, string tag)
    {
        using var process = LoadProcess.Start([connection, prefix, TasksPerProcess.ToString(CultureInfo.InvariantCulture), TurnsPerTask.ToString(CultureInfo.InvariantCulture), Conversations.ToString(CultureInfo.InvariantCulture), MaxTurns.ToString(CultureInfo.InvariantCulture), tag]);
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        if (!await LoadProcess.WaitForExitOrKillAsync(process, TimeSpan.FromSeconds(90)))
        {
            throw new TimeoutException($"load process {tag} (pid {process.Id}) did not finish within 90 s: {await stderr}");
        }

        var text = (await stdout).Trim();
        output.WriteLine($"{tag}: exit {process.ExitCode}, {text} {await stderr}");
        Assert.Equal(0, process.ExitCode);
        var words = text.Split(' ');
        return (int.Parse(words[1], CultureInfo.InvariantCulture), int.Parse(words[3], CultureInfo.InvariantCulture));
    }
}

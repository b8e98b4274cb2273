using System.Diagnostics;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json;
using Microsoft.Extensions.AI;

namespace RactoGateway.Redis.Samples.Tests;

/// <summary>samples/ChatService as it is deployed: two OS processes on two loopback ports over one Redis, talking to the
/// strict provider test model over its loopback OpenAI-compatible endpoint (a request a provider would refuse fails).</summary>
public sealed class ChatServiceReplicaTests
{
    [Fact]
    public async Task A_conversation_begun_on_one_replica_continues_on_the_other()
    {
        var redis = await TestServers.GetAsync("redis");
        var conversation = "replicas-" + Guid.NewGuid().ToString("N");

        // The answers of the sample's offline echo model, given by the strict model behind the HTTP endpoint.
        var model = new StrictChatClient
        {
            Responder = (sent, _, _) => new ChatResponse(new ChatMessage(ChatRole.Assistant,
                $"echo: {sent.LastOrDefault(m => m.Role == ChatRole.User)?.Text} (I remember {sent.Count - 1} earlier messages)")),
        };
        await using var endpoint = LoopbackOpenAIServer.Start(model);
        using var replica1 = Replica.Start(redis.ConnectionString, endpoint.BaseUrl);
        using var replica2 = Replica.Start(redis.ConnectionString, endpoint.BaseUrl);
        using var http = new HttpClient { Timeout = TimeSpan.FromSeconds(30) };
        await Task.WhenAll(replica1.WaitUntilReadyAsync(http), replica2.WaitUntilReadyAsync(http));

        var first = await PostAsync(http, replica1, conversation, "my name is Ada");
        var second = await PostAsync(http, replica2, conversation, "what is my name?");
        using var history = JsonDocument.Parse(await http.GetStringAsync(new Uri(replica1.BaseAddress, $"chat/{conversation}")));

        Assert.Empty(model.Rejections);
        Assert.Equal(2, model.Calls.Count);
        Assert.Equal("echo: my name is Ada (I remember 0 earlier messages)", first.GetProperty("reply").GetString());
        Assert.Equal(2, first.GetProperty("storedMessages").GetInt64());
        Assert.Equal("echo: what is my name? (I remember 2 earlier messages)", second.GetProperty("reply").GetString());
        Assert.Equal(4, second.GetProperty("storedMessages").GetInt64());
        Assert.Equal(
            [
                ("user", "my name is Ada"),
                ("assistant", "echo: my name is Ada (I remember 0 earlier messages)"),
                ("user", "what is my name?"),
                ("assistant", "echo: what is my name? (I remember 2 earlier messages)"),
            ],
            history.RootElement.EnumerateArray().Select(m => (m.GetProperty("role").GetString(), m.GetProperty("text").GetString())));
    }

    private static async Task<JsonElement> PostAsync(HttpClient http, Replica replica, string conversation, string message)
    {
        using var response = await http.PostAsJsonAsync(new Uri(replica.BaseAddress, $"chat/{conversation}"), new { message });
        var body = await response.Content.ReadAsStringAsync();
        Assert.True(response.IsSuccessStatusCode, $"{replica.BaseAddress} answered {(int)response.StatusCode}: {body}\n{replica.Output}");
        using var json = JsonDocument.Parse(body);
        return json.RootElement.Clone();
    }

    /// <summary>One ChatService process on its own loopback port, killed by pid when disposed.</summary>
    private sealed class Replica : IDisposable
    {
        private readonly Process _process;
        private readonly StringBuilder _output = new();

        private Replica(Process process, int port)
        {
            _process = process;
            BaseAddress = new Uri($"http://127.0.0.1:{port}/");
        }

        public Uri BaseAddress { get; }

        public string Output
        {
            get
            {
                lock (_output)
                {
                    return _output.ToString();
                }
            }
        }

        public static Replica Start(string redis, Uri modelEndpoint)
        {
            var port = Loopback.FreePort();
            var start = new ProcessStartInfo("dotnet")
            {
                RedirectStandardOutput = true,
                RedirectStandardError = true,
                UseShellExecute = false,
                WorkingDirectory = Path.GetDirectoryName(ChatServiceDll)!,
            };
            start.ArgumentList.Add(ChatServiceDll);
            start.ArgumentList.Add("--urls");
            start.ArgumentList.Add($"http://127.0.0.1:{port}");
            start.Environment["Redis"] = redis;
            start.Environment["Model__Endpoint"] = modelEndpoint.ToString();
            start.Environment["Model__Name"] = "strict-test-model";
            start.Environment["DOTNET_ENVIRONMENT"] = "Production";
            start.Environment["ASPNETCORE_ENVIRONMENT"] = "Production";
            var replica = new Replica(Process.Start(start)!, port);
            replica._process.OutputDataReceived += (_, e) => replica.Append(e.Data);
            replica._process.ErrorDataReceived += (_, e) => replica.Append(e.Data);
            replica._process.BeginOutputReadLine();
            replica._process.BeginErrorReadLine();
            return replica;
        }

        public async Task WaitUntilReadyAsync(HttpClient http)
        {
            var clock = Stopwatch.StartNew();
            while (clock.Elapsed < TimeSpan.FromSeconds(60))
            {
                if (_process.HasExited)
                {
                    throw new InvalidOperationException($"ChatService on {BaseAddress} exited with {_process.ExitCode}:\n{Output}");
                }

                try
                {
                    using var response = await http.GetAsync(new Uri(BaseAddress, "healthz"));
                    if (response.IsSuccessStatusCode)
                    {
                        return;
                    }
                }
                catch (HttpRequestException)
                {
                }

                await Task.Delay(100);
            }

            throw new TimeoutException($"ChatService on {BaseAddress} did not answer within 60 s:\n{Output}");
        }

        public void Dispose()
        {
            try
            {
                using var byPid = Process.GetProcessById(_process.Id);
                byPid.Kill(entireProcessTree: true);
                byPid.WaitForExit(10_000);
            }
            catch (ArgumentException)
            {
                // already exited
            }
            catch (InvalidOperationException)
            {
                // already exited
            }

            _process.Dispose();
        }

        private void Append(string? line)
        {
            if (line is null)
            {
                return;
            }

            lock (_output)
            {
                _output.AppendLine(line);
            }
        }
    }

    // tests/RactoGateway.Redis.Samples.Tests/bin/<Configuration>/net10.0 -> samples/ChatService/bin/<Configuration>/net10.0
    private static string ChatServiceDll
    {
        get
        {
            var output = new DirectoryInfo(AppContext.BaseDirectory.TrimEnd(Path.DirectorySeparatorChar));
            var configuration = output.Parent!.Name;
            var root = output.Parent.Parent!.Parent!.Parent!.Parent!.FullName;
            return Path.Combine(root, "samples", "ChatService", "bin", configuration, output.Name, "ChatService.dll");
        }
    }
}

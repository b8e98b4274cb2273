using System.ClientModel;
using Microsoft.Extensions.AI;
using OpenAI;

namespace RactoGateway.Redis.Tests;

/// <summary>The strict provider test model refuses what providers refuse, in process and over HTTP.</summary>
public sealed class StrictModelTests
{
    private static ChatMessage User(string text) => new(ChatRole.User, text);

    private static ChatMessage Assistant(string text) => new(ChatRole.Assistant, text);

    private static ChatMessage Calls(params string[] ids) =>
        new(ChatRole.Assistant, [.. ids.Select(id => (AIContent)new FunctionCallContent(id, "f", new Dictionary<string, object?>()))]);

    private static ChatMessage Results(params string[] ids) => new(ChatRole.Tool, [.. ids.Select(id => (AIContent)new FunctionResultContent(id, "r"))]);

    [Fact]
    public async Task The_loopback_endpoint_answers_the_OpenAI_client_and_refuses_with_an_OpenAI_400()
    {
        await using var endpoint = LoopbackOpenAIServer.Start();
        using var client = new OpenAI.Chat.ChatClient("m", new ApiKeyCredential("k"), new OpenAIClientOptions { Endpoint = endpoint.BaseUrl }).AsIChatClient();

        var text = (await client.GetResponseAsync([User("hello")])).Text;
        var streamed = (await client.GetStreamingResponseAsync([User("one two")]).ToChatResponseAsync()).Text;
        var refused = await Assert.ThrowsAsync<ClientResultException>(() => client.GetResponseAsync([User("q"), Calls("a"), User("next")]));

        Assert.Equal("echo: hello", text);
        Assert.Equal("echo: one two", streamed);
        Assert.Equal(400, refused.Status);
        Assert.Contains("did not have response messages: a", refused.Message);
        Assert.Single(endpoint.Model.Rejections);
    }
}

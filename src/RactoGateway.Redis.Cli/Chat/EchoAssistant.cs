using Microsoft.Extensions.AI;

namespace RactoGateway.Redis.Cli.Chat;

/// <summary>
/// The offline assistant of <c>chatmem chat</c>: no network, deterministic. It answers
/// <c>echo #{n}: {text}</c>, where n counts the user messages it was sent, stored history included, so the reply shows
/// what the memory gave it.
/// </summary>
internal sealed class EchoAssistant : OfflineChatClient
{
    protected override string Reply(IReadOnlyList<ChatMessage> sent, ChatOptions? options)
    {
        var users = sent.Count(m => m.Role == ChatRole.User);
        var last = sent.LastOrDefault(m => m.Role == ChatRole.User)?.Text ?? "";
        return $"echo #{users}: {last}";
    }
}

// Appends a turn to a conversation and reads it back, through both message models:
//   dotnet run --project samples/TrimmedSample -- redis://127.0.0.1:6379 [conversation-id]
using Microsoft.Extensions.AI;
using RactoGateway.Redis;

if (args.Length is < 1 or > 2)
{
    await Console.Error.WriteLineAsync("usage: TrimmedSample <redis-url> [conversation-id]");
    return 2;
}

var conversationId = args.Length == 2 ? args[1] : "trimmed-" + Guid.NewGuid().ToString("N");
await using var memory = new RedisChatMemory(
    args[0], new ChatMemoryConfig { MaxTurns = 5, Ttl = TimeSpan.FromMinutes(5), Window = { ToolCallAware = true } });

await memory.AppendAsync(conversationId, ChatRoles.User, "What is the capital of France?");
await memory.AppendAsync(conversationId, new ChatMessage(ChatRole.Assistant, "Paris."));

foreach (var message in await memory.GetHistoryAsync(conversationId))
{
    Console.WriteLine($"{message.Role}: {message.Content}");
}

Console.WriteLine($"{(await memory.GetChatMessagesAsync(conversationId)).Count} messages in {memory.GetKey(conversationId)}");
await memory.ClearAsync(conversationId);
return 0;

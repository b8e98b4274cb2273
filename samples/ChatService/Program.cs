// A chat service replica: any number of them, behind any load balancer, share conversations through Redis.
//   Redis=redis://127.0.0.1:6379 dotnet run --project samples/ChatService -- --urls http://127.0.0.1:5080
//   curl -X POST localhost:5080/chat/c1 -H 'content-type: application/json' -d '{"message":"hi"}'
//   curl localhost:5080/chat/c1
// With Model__Endpoint=http://localhost:11434/v1 Model__Name=llama3.2 it talks to an OpenAI-compatible model instead.
using ChatService;
using Microsoft.Extensions.AI;
using RactoGateway.Redis;
using RactoGateway.Redis.Offline;

var builder = WebApplication.CreateSlimBuilder(args);
builder.Services.ConfigureHttpJsonOptions(json => json.SerializerOptions.TypeInfoResolverChain.Insert(0, ChatServiceJsonContext.Default));

// The Redis URL comes from configuration: "Redis" in appsettings.json, or the Redis environment variable.
var redisUrl = builder.Configuration["Redis"] ?? "redis://127.0.0.1:6379";
builder.Services.AddRedisChatMemory(redisUrl);   // window and TTL bind from the "ChatMemory" section

// The model: an OpenAI-compatible endpoint when Model:Endpoint and Model:Name are set (Model:ApiKey optional), otherwise
// the deterministic offline echo model of RactoGateway.Redis.Offline ("echo: {message} (I remember N earlier messages)").
builder.Services.AddChatClient(Model(builder.Configuration)).UseChatMemory();

var app = builder.Build();

app.MapPost("/chat/{conversationId}", async (string conversationId, ChatRequest request, IChatClient chat, RedisChatMemory memory, CancellationToken cancellationToken) =>
{
    if (string.IsNullOrWhiteSpace(request.Message))
    {
        return Results.BadRequest();
    }

    // Send only the new message: the middleware prepends the stored history and stores the turn.
    var response = await chat.GetResponseAsync(
        new ChatMessage(ChatRole.User, request.Message), new ChatOptions { ConversationId = conversationId }, cancellationToken);
    var stored = await memory.CountAsync(conversationId, cancellationToken);
    return Results.Ok(new ChatReply(response.Text, stored));
});

app.MapGet("/chat/{conversationId}", async (string conversationId, RedisChatMemory memory, CancellationToken cancellationToken) =>
{
    var history = await memory.GetChatMessagesAsync(conversationId, cancellationToken);
    return Results.Ok(history.Select(m => new StoredMessage(m.Role.Value, m.Text)).ToList());
});

app.MapGet("/healthz", () => Results.Text("ok"));

await app.RunAsync();

static IChatClient Model(IConfiguration configuration) =>
    configuration["Model:Endpoint"] is { Length: > 0 } endpoint && configuration["Model:Name"] is { Length: > 0 } name
        ? new OpenAI.Chat.ChatClient(name, new System.ClientModel.ApiKeyCredential(configuration["Model:ApiKey"] is { Length: > 0 } key ? key : "none"),
            new OpenAI.OpenAIClientOptions { Endpoint = new Uri(endpoint) }).AsIChatClient()
        : new EchoChatClient();

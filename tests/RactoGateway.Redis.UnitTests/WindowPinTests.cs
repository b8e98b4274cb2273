using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;

namespace RactoGateway.Redis.Tests;

/// <summary>Pinned system messages: <see cref="ChatMemoryWindow.MaxPinnedMessages"/> as configuration binds and validates it
/// (the trimming on a server is in the integration tier's WindowPinTests).</summary>
public class WindowPinTests
{
    [Fact]
    public void MaxPinnedMessages_binds_from_the_Window_section_and_is_validated_on_start()
    {
        static ChatMemoryConfig Bound(string maxPinned)
        {
            using var provider = new ServiceCollection()
                .AddSingleton<IConfiguration>(new ConfigurationBuilder().AddInMemoryCollection(new Dictionary<string, string?>
                {
                    ["ChatMemory:Window:PinSystemMessages"] = "true",
                    ["ChatMemory:Window:MaxPinnedMessages"] = maxPinned,
                }).Build())
                .AddRedisChatMemory()
                .BuildServiceProvider();
            return provider.GetRequiredService<IOptions<ChatMemoryConfig>>().Value;
        }

        var config = Bound("5");
        Assert.True(config.Window.PinSystemMessages);
        Assert.Equal(5, config.Window.MaxPinnedMessages);
        Assert.Contains("MaxPinnedMessages", Assert.Throws<OptionsValidationException>(() => Bound("0")).Message, StringComparison.Ordinal);
    }
}

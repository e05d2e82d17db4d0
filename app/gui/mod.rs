//! The desktop app (iced): one top-level state that routes messages to its screens.

pub mod connect;

use std::path::PathBuf;

use iced::{Element, Size, Task};
use remote4d_core::environment::Environment;
use remote4d_core::link::Link;

/// How the app was started.
#[derive(Debug, Default)]
pub struct Launch {
    /// A `.4DLink` file to open.
    pub link: Option<PathBuf>,
}

/// Runs the app until its window closes.
pub fn run(launch: Launch) -> anyhow::Result<()> {
    let Launch { link } = launch;
    let env = Environment::from_system()?;
    let initial_link = match &link {
        Some(path) => Some(Link::read(path)?),
        None => None,
    };
    iced::application(
        move || App::new(&env, initial_link.clone()),
        App::update,
        App::view,
    )
    .title(App::title)
    .window_size(Size::new(640.0, 480.0))
    .run()?;
    Ok(())
}

/// The app's state.
pub struct App {
    connect: connect::Connect,
}

/// Every message of the app.
#[derive(Debug, Clone)]
pub enum Message {
    /// A message of the connection window.
    Connect(connect::Message),
}

impl App {
    /// The first state, and the work to start.
    pub fn new(env: &Environment, link: Option<Link>) -> (Self, Task<Message>) {
        let (connect, task) = connect::Connect::new(env.favorites_dir(), link);
        (Self { connect }, task.map(Message::Connect))
    }

    /// The window title.
    pub fn title(&self) -> String {
        "Remote4D — Connect to a 4D Server".into()
    }

    /// Applies a message.
    pub fn update(&mut self, message: Message) -> Task<Message> {
        match message {
            Message::Connect(m) => {
                let (task, event) = self.connect.update(m);
                let task = task.map(Message::Connect);
                match event {
                    Some(connect::Event::Cancelled) => iced::exit(),
                    Some(connect::Event::Connect(target)) => {
                        tracing::info!(?target, "connection requested");
                        task
                    }
                    None => task,
                }
            }
        }
    }

    /// The window's content.
    pub fn view(&self) -> Element<'_, Message> {
        self.connect.view().map(Message::Connect)
    }
}

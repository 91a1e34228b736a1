//! The route table: every route is added through [`Routes`], which keeps the list of paths
//! beside the axum router it builds. The list is what the tests enumerate (issue 15: every route
//! that reveals identities must be in the counted-routes table, [`crate::IDENTITY_ROUTES`]); it
//! cannot drift from the router because both come from the same calls.

use axum::routing::MethodRouter;
use axum::Router;

use crate::AppState;

pub struct Routes {
    pub(crate) router: Router<AppState>,
    pub(crate) paths: Vec<String>,
}

impl Default for Routes {
    fn default() -> Routes {
        Routes::new()
    }
}

impl Routes {
    pub fn new() -> Routes {
        Routes {
            router: Router::new(),
            paths: Vec::new(),
        }
    }

    pub fn route(mut self, path: &str, method_router: MethodRouter<AppState>) -> Routes {
        self.router = self.router.route(path, method_router);
        self.paths.push(path.to_string());
        self
    }

    pub fn merge(mut self, other: Routes) -> Routes {
        self.router = self.router.merge(other.router);
        self.paths.extend(other.paths);
        self
    }

    pub fn nest(mut self, prefix: &str, other: Routes) -> Routes {
        self.router = self.router.nest(prefix, other.router);
        self.paths
            .extend(other.paths.into_iter().map(|p| format!("{prefix}{p}")));
        self
    }
}
